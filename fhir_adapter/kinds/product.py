"""Cell products: one BiologicallyDerivedProduct per product id of a participant."""

from fhir_adapter.kinds._kind import Kind, ResourceRule
from fhir_adapter.mapping.spec import Products as Section

__all__ = ["KIND", "Section"]

# R4 BiologicallyDerivedProduct has neither an identifier search parameter nor an
# entered-in-error status: found by tag, kept when its row leaves the source.
KIND = Kind(
    "product",
    (ResourceRule("BiologicallyDerivedProduct", "bdp", "cell-product", tag_matched=True),),
    section="products",
)
