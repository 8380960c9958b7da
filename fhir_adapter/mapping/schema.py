"""The JSON Schema of the mapping format, generated from the models (never edited by hand).

Regenerate the published copy with ``fhir-adapter schema > mappings/mapping.schema.json``;
a test fails when the two drift apart.
"""

from __future__ import annotations

import json

from fhir_adapter.mapping.spec import MappingSpec

SCHEMA_ID = "urn:fhir-adapter:schema:mapping:v1"


def mapping_json_schema() -> str:
    schema = MappingSpec.model_json_schema()
    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_ID, **schema}
    return json.dumps(schema, indent=2, ensure_ascii=False, sort_keys=True) + "\n"
