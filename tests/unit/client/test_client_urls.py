"""Base URL confinement: paging links, Location headers and redirects stay under the base."""

from __future__ import annotations

import pytest

from fhir_adapter.client import FhirClient
from fhir_adapter.errors import UnsafeUrlError

P1 = {"resourceType": "Patient", "id": "p-1"}
P2 = {"resourceType": "Patient", "id": "p-2"}


def test_search_follows_next_links_under_the_base(httpx_mock, make_client, base, bundle):
    next_url = f"{base}?_getpages=abc&_getpagesoffset=1&_count=1"
    httpx_mock.add_response(url=f"{base}/Patient?_count=1", json=bundle(P1, next_url=next_url))
    httpx_mock.add_response(url=next_url, json=bundle(P2))

    assert list(make_client().search("Patient", {"_count": "1"})) == [P1, P2]


def test_search_resolves_a_relative_next_link(httpx_mock, make_client, base, bundle):
    httpx_mock.add_response(url=f"{base}/Patient", json=bundle(P1, next_url="?_getpages=abc"))
    httpx_mock.add_response(url=f"{base}/?_getpages=abc", json=bundle(P2))

    assert [p["id"] for p in make_client().search("Patient")] == ["p-1", "p-2"]


@pytest.mark.parametrize(
    "next_url",
    [
        "https://evil.example.com/fhir?_getpages=abc",  # another host
        "http://fhir.example.org/fhir?_getpages=abc",  # another scheme
        "https://fhir.example.org:8443/fhir?_getpages=abc",  # another port
        "https://fhir.example.org/other?_getpages=abc",  # outside the base path
        "https://fhir.example.org/fhir-admin?_getpages=abc",  # a prefix that is not a segment
        "https://fhir.example.org/fhir/../admin?_getpages=abc",  # dot segments
        "//evil.example.com/fhir?_getpages=abc",  # scheme-relative
    ],
)
def test_search_refuses_next_links_outside_the_base(
    httpx_mock, make_client, base, bundle, next_url
):
    httpx_mock.add_response(url=f"{base}/Patient", json=bundle(P1, next_url=next_url))

    pages = make_client().search("Patient")
    assert next(pages) == P1
    with pytest.raises(UnsafeUrlError) as caught:
        next(pages)
    assert "_getpages" not in str(caught.value)
    assert len(httpx_mock.get_requests()) == 1


def test_search_stops_on_a_paging_loop(httpx_mock, make_client, base, bundle):
    loop = f"{base}?_getpages=abc"
    httpx_mock.add_response(url=f"{base}/Patient", json=bundle(P1, next_url=loop))
    httpx_mock.add_response(url=loop, json=bundle(P2, next_url=loop))

    with pytest.raises(Exception, match="loop"):
        list(make_client().search("Patient"))


def test_update_refuses_a_location_on_another_origin(httpx_mock, make_client):
    httpx_mock.add_response(
        method="PUT",
        status_code=201,
        headers={"Location": "https://evil.example.com/fhir/Patient/p-1/_history/1"},
    )

    with pytest.raises(UnsafeUrlError, match="Location"):
        make_client().update(P1)


def test_update_reads_a_confined_location(httpx_mock, make_client, base):
    httpx_mock.add_response(
        method="PUT", status_code=201, headers={"Location": f"{base}/Patient/p-1/_history/1"}
    )

    result = make_client().update(P1)
    assert (result.created, result.location, result.version_id) == (
        True,
        "Patient/p-1/_history/1",
        "1",
    )


@pytest.mark.parametrize(
    "location",
    ["https://fhir.example.org/fhir/Patient/p-1", "https://evil.example.com/fhir/Patient/p-1"],
)
def test_redirects_are_never_followed(httpx_mock, make_client, location):
    httpx_mock.add_response(status_code=302, headers={"Location": location})

    with pytest.raises(UnsafeUrlError, match="redirect"):
        make_client().read("Patient", "p-1")
    assert len(httpx_mock.get_requests()) == 1


def test_base_url_must_be_plain_http(make_client):
    for bad in ("ftp://h/fhir", "https://user:pw@h/fhir", "https://h/fhir?x=1", "/fhir"):
        with pytest.raises(ValueError) as caught:
            FhirClient(bad)
        assert "pw" not in str(caught.value)


def test_ids_and_types_cannot_escape_the_base(make_client):
    client = make_client()
    for resource_type, resource_id in (
        ("Patient", "../metadata"),
        ("Patient", "a/b"),
        ("../x", "p-1"),
        ("Patient", "x" * 65),
    ):
        with pytest.raises(ValueError):
            client.read(resource_type, resource_id)
