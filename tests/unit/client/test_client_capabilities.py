"""The CapabilityStatement summary."""

from __future__ import annotations

import pytest

from fhir_adapter.client import parse_capabilities
from fhir_adapter.errors import UnsupportedServerError


def hapi_metadata(version: str = "4.0.1") -> dict:
    return {
        "resourceType": "CapabilityStatement",
        "fhirVersion": version,
        "software": {"name": "HAPI FHIR Server", "version": "8.10.0"},
        "rest": [
            {
                "mode": "server",
                "interaction": [
                    {"code": "transaction"},
                    {"code": "batch"},
                    {"code": "history-system"},
                ],
                "resource": [
                    {"type": "Patient", "updateCreate": True, "conditionalUpdate": True},
                    {"type": "Observation", "updateCreate": True, "conditionalUpdate": False},
                    {"type": "Binary"},
                ],
            }
        ],
    }


def test_client_reads_metadata(httpx_mock, make_client, base):
    httpx_mock.add_response(url=f"{base}/metadata", json=hapi_metadata())

    caps = make_client().capabilities()
    assert (caps.fhir_version, caps.software_name, caps.software_version) == (
        "4.0.1",
        "HAPI FHIR Server",
        "8.10.0",
    )
    assert caps.transaction and caps.batch
    assert caps.update_create == {"Patient", "Observation"}
    assert caps.conditional_update == {"Patient"}
    assert caps.supports_update_create("Observation")
    assert not caps.supports_update_create("Binary")
    assert not caps.supports_conditional_update("Observation")


def test_a_server_without_transactions_or_update_create():
    body = hapi_metadata()
    body["rest"][0]["interaction"] = [{"code": "search-system"}]
    for resource in body["rest"][0]["resource"]:
        resource.pop("updateCreate", None)
    body["rest"].append({"mode": "client", "interaction": [{"code": "transaction"}]})
    caps = parse_capabilities(body)
    assert not caps.transaction
    assert caps.update_create == frozenset()


@pytest.mark.parametrize("version", ["3.0.2", "4.3.0", "5.0.0", None])
def test_only_r4_is_accepted(version):
    body = hapi_metadata()
    body["fhirVersion"] = version
    with pytest.raises(UnsupportedServerError, match="R4"):
        parse_capabilities(body)


def test_something_that_is_not_a_capability_statement():
    with pytest.raises(UnsupportedServerError, match="base URL"):
        parse_capabilities({"resourceType": "Bundle"})


def test_missing_software_is_tolerated():
    body = hapi_metadata("4.0.0")
    del body["software"]
    caps = parse_capabilities(body)
    assert caps.software_name is None and caps.fhir_version == "4.0.0"
