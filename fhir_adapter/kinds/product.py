"""Cell products: one BiologicallyDerivedProduct per product id of a participant."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, ClassVar

from fhir_adapter.fhir import extensions as ext
from fhir_adapter.fhir.build import BuildContext, coding, quantity
from fhir_adapter.fhir.ids import natural_key
from fhir_adapter.kinds._kind import (
    Kind,
    MapContext,
    Mapped,
    Resource,
    ResourceBuilder,
    ResourceRule,
    SectionMapper,
)
from fhir_adapter.mapping import fields as F
from fhir_adapter.mapping.dependents import Reference
from fhir_adapter.mapping.records import ProductRecord
from fhir_adapter.mapping.rowreader import (
    RowReader,
    Rows,
    SectionTools,
    is_ucum,
    map_each_row,
    no_duplicates,
)
from fhir_adapter.mapping.selection import SectionRows
from fhir_adapter.mapping.spec import Products as Section

__all__ = ["KIND", "Section"]

NAME = "product"
PROCEDURE = "procedure"  # the kind a product's harvest column names (kinds.procedure)


@dataclass(frozen=True)
class ProductMapper(SectionMapper):
    section: Section
    selector: SectionRows
    id: F.Reader
    harvest: F.Reader | None
    collected: F.Reader | None
    cell_type: F.Reader | None
    dose: F.Reader | None
    viability: F.Reader | None
    dose_unit: F.Reader | None
    kind: ClassVar[str] = NAME

    def map_rows(self, rows: Rows, context: MapContext) -> Mapped:
        selected = self.selector.select(rows, context.errors)
        good, rejected = map_each_row(
            selected, self._make, context.errors, context.birth, context.cutoff
        )
        no_duplicates(good, lambda r: r.id, "product id", context.errors)
        return Mapped(good, rejected)

    def _make(self, r: RowReader) -> ProductRecord:
        pid, harvest, collected, cell_type, dose, viability, unit = (
            r.get(x)
            for x in (
                self.id,
                self.harvest,
                self.collected,
                self.cell_type,
                self.dose,
                self.viability,
                self.dose_unit,
            )
        )
        section = self.section
        unit_spec = section.dose_unit
        if dose is not None and unit is None and not r.failed:
            r.fail(unit_spec.column, "required", "a dose needs its unit")
        if unit is not None and unit_spec.map is None and not is_ucum(unit):
            r.fail(
                unit_spec.column,
                "unit",
                "not a UCUM unit code; map the export's unit text to UCUM with 'map:' "
                "(e.g. 10^6/kg: '10*6/kg')",
            )
        r.after_birth(collected, section.collected)
        if dose is not None and dose <= 0:
            r.fail(section.dose.column, "range", "dose must be positive")
        if viability is not None and not 0 <= viability <= 100:
            r.fail(
                section.viability.column if section.viability else None,
                "range",
                "viability must be between 0 and 100 %",
            )
        return ProductRecord(pid, harvest, collected, cell_type, dose, unit, viability, r.origin)

    def key(self, record: Any) -> str | None:
        return record.id  # type: ignore[no-any-return]

    def references(self, record: Any) -> Iterable[Reference]:
        if record.harvest:
            column = self.section.harvest.column if self.section.harvest else None
            yield Reference(PROCEDURE, record.harvest, column, "harvest procedure")


def _compile(tools: SectionTools) -> ProductMapper | None:
    pd = tools.spec.products
    if pd is None:
        return None
    return ProductMapper(
        pd,
        tools.rows(pd),
        tools.own_id(pd, pd.id),
        *tools.fields(pd, "harvest", "collected", "cell_type", "dose", "viability", "dose_unit"),
    )


class ProductBuilder(ResourceBuilder):
    def build(self, record: Any, ctx: BuildContext) -> Resource:
        r: ProductRecord = record
        cell = ctx.spec.codes.cell_types[r.cell_type]
        head = ctx.head("BiologicallyDerivedProduct", natural_key(ctx.subject, r.id))
        extensions: list[dict[str, Any]] = []
        if r.harvest:
            extensions.append(
                {
                    "url": ext.PRODUCT_COLLECTION_PROCEDURE,
                    "valueReference": ctx.ref("Procedure", natural_key(ctx.subject, r.harvest)),
                }
            )
        if r.dose is not None:
            assert r.dose_unit is not None  # the mapper refuses a dose without its unit
            extensions.append(
                {"url": ext.PRODUCT_CELL_DOSE, "valueQuantity": quantity(r.dose, r.dose_unit)}
            )
        if r.viability is not None:
            extensions.append(
                {"url": ext.PRODUCT_VIABILITY, "valueQuantity": quantity(r.viability, "%")}
            )
        return {
            "resourceType": head["resourceType"],
            "id": head["id"],
            **({"extension": extensions} if extensions else {}),
            "identifier": head["identifier"],
            "productCategory": "cells",
            "productCode": {
                **({"coding": [coding(cell.coding)]} if cell.coding else {}),
                "text": cell.text,
            },
            "collection": {"source": ctx.patient_ref, "collectedDateTime": r.collected},
        }


# R4 BiologicallyDerivedProduct has neither an identifier search parameter nor an
# entered-in-error status: found by tag, kept when its row leaves the source.
KIND = Kind(
    NAME,
    (ResourceRule("BiologicallyDerivedProduct", "bdp", "cell-product", tag_matched=True),),
    section="products",
    compile=_compile,
    builder=ProductBuilder(),
)
