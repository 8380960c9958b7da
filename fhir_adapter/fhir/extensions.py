"""Extension URLs for what FHIR R4 has no element for (documented in docs/mapping.md).

- Procedure → the cell product it used: R4 ``Procedure.usedReference`` admits only Device,
  Medication and Substance; R5 added ``Procedure.used``.
- BiologicallyDerivedProduct → its harvest procedure: R5 added ``collection.procedure``.
  HL7 publishes R5 elements as R4 cross-version extensions
  (``http://hl7.org/fhir/5.0/StructureDefinition/extension-Procedure.used``), but the R4
  validator of HAPI 8.8 rejects those URLs offline ("invalid Version '5.0'"), so these two
  links are project extensions with the same meaning, valid for any R4 validator.
- The route of a cell infusion, the cell dose per kg and the viability have no element in R4
  (Procedure has no route; BiologicallyDerivedProduct has no property): project extensions.
- Why a participant went off-study: R4 ResearchSubject has only ``status`` (R5 added
  ``progress.reason``); a coded reason (valueCodeableConcept) from ``codes.end_reasons``.
- The participant's treatment group or randomisation stratum: R4 ResearchSubject has only
  ``assignedArm``/``actualArm`` (R5 has no stratum either); the study's label (valueString).
- A value converted into a form whose LOINC code asserts a method (HbA1c "by IFCC
  protocol"): the Observation keeps the measured value and code; the converted value rides
  along as a valueQuantity, asserting no method.
- A daily total taken without a recorded schedule: Dosage keeps doseQuantity with timing
  1 per day; this flag (valueBoolean true) says the split over the day was not recorded.
"""

_PROJECT = "urn:fhir-adapter:extension:"
PROCEDURE_USED = _PROJECT + "procedure-used-product"
PRODUCT_COLLECTION_PROCEDURE = _PROJECT + "product-collection-procedure"
PROCEDURE_ROUTE = _PROJECT + "procedure-route"
PRODUCT_CELL_DOSE = _PROJECT + "cell-dose"
PRODUCT_VIABILITY = _PROJECT + "viability"
RESEARCH_SUBJECT_OFF_STUDY_REASON = _PROJECT + "research-subject-off-study-reason"
RESEARCH_SUBJECT_STRATUM = _PROJECT + "research-subject-stratum"
OBSERVATION_CONVERTED_VALUE = _PROJECT + "converted-value"
DOSAGE_DAILY_TOTAL = _PROJECT + "dosage-daily-total"
