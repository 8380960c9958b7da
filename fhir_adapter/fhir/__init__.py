"""Build FHIR R4 resources from checked records: ids, identifiers, references, bundles.

Pure and deterministic: the same records give byte-identical JSON. No I/O, no HTTP.
"""
