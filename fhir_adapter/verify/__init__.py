"""Check what a FHIR server holds against the mapped source: read-back comparison and
``$validate``. Reads only; never writes to the server or the ledger."""

from fhir_adapter.verify.compare import VerifyReport, verify_study
from fhir_adapter.verify.remote import ValidationReport, validate_on_server

__all__ = ["ValidationReport", "VerifyReport", "validate_on_server", "verify_study"]
