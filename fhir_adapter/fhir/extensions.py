"""Extension URLs for what FHIR R4 has no element for (documented in docs/mapping.md).

- Procedure → the cell product it used: R4 ``Procedure.usedReference`` admits only Device,
  Medication and Substance; R5 added ``Procedure.used``. HL7 publishes R5 elements as R4
  cross-version extensions (IG hl7.fhir.uv.xver-r5.r4), so we use that one.
- BiologicallyDerivedProduct → its harvest procedure: R5 ``collection.procedure``, same scheme.
- The route of a cell infusion, the cell dose per kg and the viability have no element in R4
  (Procedure has no route; BiologicallyDerivedProduct has no property): project extensions.
"""

PROCEDURE_USED = "http://hl7.org/fhir/5.0/StructureDefinition/extension-Procedure.used"
PRODUCT_COLLECTION_PROCEDURE = "http://hl7.org/fhir/5.0/StructureDefinition/extension-BiologicallyDerivedProduct.collection.procedure"
_PROJECT = "urn:fhir-adapter:extension:"
PROCEDURE_ROUTE = _PROJECT + "procedure-route"
PRODUCT_CELL_DOSE = _PROJECT + "cell-dose"
PRODUCT_VIABILITY = _PROJECT + "viability"
