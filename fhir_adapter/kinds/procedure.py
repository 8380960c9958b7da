"""Procedures (harvests, infusions): one per procedure id of a participant."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, ClassVar

from fhir_adapter.fhir import extensions as ext
from fhir_adapter.fhir.build import BuildContext, coding, with_extensions
from fhir_adapter.fhir.ids import natural_key
from fhir_adapter.kinds._kind import (
    Kind,
    MapContext,
    Mapped,
    Resource,
    ResourceBuilder,
    ResourceRule,
    SectionMapper,
    status_entered_in_error,
)
from fhir_adapter.mapping import fields as F
from fhir_adapter.mapping.dependents import Reference
from fhir_adapter.mapping.records import ProcedureRecord
from fhir_adapter.mapping.rowreader import (
    RowReader,
    Rows,
    SectionTools,
    map_each_row,
    no_duplicates,
)
from fhir_adapter.mapping.selection import SectionRows
from fhir_adapter.mapping.spec import Procedures as Section

__all__ = ["KIND", "Section"]

NAME = "procedure"
PRODUCT = "product"  # the kind an infusion's product column names (kinds.product)


@dataclass(frozen=True)
class ProcedureMapper(SectionMapper):
    section: Section
    selector: SectionRows
    id: F.Reader
    procedure: F.Reader | None
    date: F.Reader | None
    route: F.Reader | None
    body_site: F.Reader | None
    product: F.Reader | None
    kind: ClassVar[str] = NAME

    def map_rows(self, rows: Rows, context: MapContext) -> Mapped:
        selected = self.selector.select(rows, context.errors)
        good, rejected = map_each_row(
            selected, self._make, context.errors, context.birth, context.cutoff
        )
        no_duplicates(good, lambda r: r.id, "procedure id", context.errors)
        return Mapped(good, rejected)

    def _make(self, r: RowReader) -> ProcedureRecord:
        pid, kind, date, route, site, product = (
            r.get(x)
            for x in (self.id, self.procedure, self.date, self.route, self.body_site, self.product)
        )
        r.after_birth(date, self.section.date)
        return ProcedureRecord(pid, kind, date, route, site, product, r.origin)

    def key(self, record: Any) -> str | None:
        return record.id  # type: ignore[no-any-return]

    def references(self, record: Any) -> Iterable[Reference]:
        if record.product:
            column = self.section.product.column if self.section.product else None
            yield Reference(PRODUCT, record.product, column, "cell product")


def _compile(tools: SectionTools) -> ProcedureMapper | None:
    pr = tools.spec.procedures
    if pr is None:
        return None
    return ProcedureMapper(
        pr,
        tools.rows(pr),
        tools.own_id(pr, pr.id),
        *tools.fields(pr, "kind", "date", "route", "body_site", "product"),
    )


class ProcedureBuilder(ResourceBuilder):
    def build(self, record: Any, ctx: BuildContext) -> Resource:
        r: ProcedureRecord = record
        codes = ctx.spec.codes
        kind = codes.procedures[r.kind]
        extensions: list[dict[str, Any]] = []
        route = r.route or kind.route
        if route:
            extensions.append(
                {
                    "url": ext.PROCEDURE_ROUTE,
                    "valueCodeableConcept": {"coding": [coding(codes.routes[route])]},
                }
            )
        if r.product:
            extensions.append(
                {
                    "url": ext.PROCEDURE_USED,
                    "valueReference": ctx.ref(
                        "BiologicallyDerivedProduct", natural_key(ctx.subject, r.product)
                    ),
                }
            )
        pr = with_extensions(ctx.head("Procedure", natural_key(ctx.subject, r.id)), extensions)
        pr["status"] = "completed"
        pr["code"] = {
            **({"coding": [coding(kind.coding)]} if kind.coding else {}),
            "text": kind.text,
        }
        pr["subject"] = ctx.patient_ref
        pr["performedDateTime"] = r.date
        site = r.body_site or kind.body_site
        if site:
            concept = codes.body_sites[site]
            pr["bodySite"] = [
                {
                    **({"coding": [coding(concept.coding)]} if concept.coding else {}),
                    "text": concept.text,
                }
            ]
        return pr

    def dates(self, record: Any) -> Iterable[str]:
        return (record.date,)


KIND = Kind(
    NAME,
    (ResourceRule("Procedure", "proc", "procedure", entered_in_error=status_entered_in_error),),
    section="procedures",
    compile=_compile,
    builder=ProcedureBuilder(),
)
