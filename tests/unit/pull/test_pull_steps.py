"""Pull logic the real server cannot be made to show: a 503 in the middle of paging (retried,
or lasting until the pull stops and a re-run resumes), export polling with a capped
Retry-After and an expired job, and the guards on the output folder. A fake FHIR server on
httpx's MockTransport; no test sleeps."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
from click.testing import CliRunner

from fhir_adapter.cli import main
from fhir_adapter.client import FhirClient, RetryPolicy
from fhir_adapter.errors import TransientServerError
from fhir_adapter.pull import (
    ExportTiming,
    PullFolderError,
    PullOptions,
    StudyRef,
    pull_study,
)

BASE = "https://fhir.example.org/fhir"
STUDY = {"resourceType": "ResearchStudy", "id": "s1", "status": "active"}


def _subject(n: int) -> dict[str, Any]:
    return {
        "resourceType": "ResearchSubject",
        "id": f"rs{n}",
        "status": "on-study",
        "study": {"reference": "ResearchStudy/s1"},
        "individual": {"reference": f"Patient/p{n}"},
    }


def _obs(n: int) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": f"o{n}",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "4548-4"}]},
        "subject": {"reference": "Patient/p1"},
        "valueQuantity": {
            "value": 7.5,
            "unit": "%",
            "system": "http://unitsofmeasure.org",
            "code": "%",
        },
    }


PROVENANCE = {
    "resourceType": "Provenance",
    "id": "prov1",
    "recorded": "2020-01-01T00:00:00Z",
    "target": [{"reference": "Patient/p1"}, {"reference": "BiologicallyDerivedProduct/b1"}],
    "agent": [{"who": {"display": "x"}}],
}
PRODUCT = {
    "resourceType": "BiologicallyDerivedProduct",
    "id": "b1",
    "collection": {"source": {"reference": "Patient/p1"}},
}


def _bundle(
    matches: list[dict[str, Any]],
    includes: list[dict[str, Any]] = (),  # type: ignore[assignment]
    next_url: str | None = None,
) -> dict[str, Any]:
    links = [{"relation": "self", "url": BASE}]
    if next_url:
        links.append({"relation": "next", "url": next_url})
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "link": links,
        "entry": [{"resource": r, "search": {"mode": "match"}} for r in matches]
        + [{"resource": r, "search": {"mode": "include"}} for r in includes],
    }


class FakeServer:
    """Just enough of a FHIR server for one small study; ``failures`` scripts 503s on the
    second Observation page."""

    def __init__(self, failures: int = 0) -> None:
        self.failures = failures
        self.requests: Counter[str] = Counter()
        self.export_polls = 0
        self.expired_job = False

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path.removeprefix("/fhir/").removeprefix("/fhir")
        self.requests[f"{request.method} {path}"] += 1
        if path == "ResearchStudy/s1":
            return httpx.Response(200, json=STUDY)
        if request.method == "POST" and path.endswith("/_search"):
            kind = path.split("/")[0]
            form = parse_qs(request.content.decode())
            assert request.headers["Cache-Control"] == "no-cache"
            return httpx.Response(200, json=self.search(kind, form))
        if path == "" and request.url.params.get("_getpages") == "obs":
            assert request.headers["Cache-Control"] == "no-cache"
            if self.failures:
                self.failures -= 1
                return httpx.Response(503)
            return httpx.Response(200, json=_bundle([_obs(3)]))
        if path == "metadata":
            return httpx.Response(
                200,
                json={
                    "resourceType": "CapabilityStatement",
                    "fhirVersion": "4.0.1",
                    "rest": [
                        {
                            "mode": "server",
                            "resource": [{"type": "Patient", "operation": [{"name": "export"}]}],
                        }
                    ],
                },
            )
        if path == "Patient/$export":
            assert request.headers["Prefer"] == "respond-async"
            return httpx.Response(
                202, headers={"Content-Location": f"{BASE}/$export-poll-status?_jobId=j1"}
            )
        if path == "$export-poll-status":
            if self.expired_job:
                self.expired_job = False
                return httpx.Response(404)
            self.export_polls += 1
            if self.export_polls < 3:
                return httpx.Response(202, headers={"Retry-After": "120", "X-Progress": "busy"})
            return httpx.Response(
                200,
                json={
                    "output": [
                        {"type": "Observation", "url": f"{BASE}/Binary/obs"},
                        {"type": "Provenance", "url": f"{BASE}/Binary/prov"},
                    ],
                    "error": [],
                },
            )
        if path == "Binary/obs":
            return httpx.Response(
                200, content=b"".join(json.dumps(_obs(n)).encode() + b"\n" for n in (1, 2, 3))
            )
        if path == "Binary/prov":
            return httpx.Response(200, content=json.dumps(PROVENANCE).encode() + b"\n")
        return httpx.Response(404)

    def search(self, kind: str, form: dict[str, list[str]]) -> dict[str, Any]:
        if kind == "ResearchSubject":
            assert form["study"] == ["ResearchStudy/s1"]
            patients = [{"resourceType": "Patient", "id": f"p{n}"} for n in (1, 2)]
            return _bundle([_subject(1), _subject(2)], patients)
        if kind == "Observation":
            return _bundle([_obs(1), _obs(2)], next_url=f"{BASE}?_getpages=obs&_getpagesoffset=2")
        if kind == "Provenance":
            return _bundle([PROVENANCE])
        if kind == "BiologicallyDerivedProduct":
            assert form["_id"] == ["b1"]
            return _bundle([PRODUCT])
        return _bundle([])


class Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def _client(server: FakeServer, clock: Clock) -> FhirClient:
    return FhirClient(
        BASE,
        transport=httpx.MockTransport(server),
        sleep=clock.sleep,
        clock=clock,
        deadline=None,
        max_concurrency=2,
        retry=RetryPolicy(max_attempts=3, initial_backoff=1.0, random=lambda: 0.5),
    )


def _ids(out: Path, kind: str) -> list[str]:
    lines = (out / "ndjson" / f"{kind}.ndjson").read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["id"] for line in lines]


def test_a_503_on_a_next_page_is_retried_and_every_resource_comes_once(tmp_path):
    server, clock = FakeServer(failures=1), Clock()
    with _client(server, clock) as client:
        result = pull_study(
            client, StudyRef.parse("s1"), PullOptions(out=tmp_path / "out"), clock=clock
        )
    assert _ids(tmp_path / "out", "Observation") == ["o1", "o2", "o3"]
    assert result.counts["Observation"] == 3 and result.counts["BiologicallyDerivedProduct"] == 1
    assert result.counts["Patient"] == result.counts["ResearchSubject"] == 2
    assert clock.sleeps == [0.5]  # one backoff, no real wait
    assert server.requests["GET "] == 2


def test_a_server_that_stays_down_stops_the_pull_and_a_rerun_resumes(tmp_path):
    out = tmp_path / "out"
    server, clock = FakeServer(failures=3), Clock()
    with _client(server, clock) as client, pytest.raises(TransientServerError):
        pull_study(client, StudyRef.parse("s1"), PullOptions(out=out), clock=clock)
    state = json.loads((out / ".pull" / "state.json").read_text())
    assert "subjects" in state["done"] and "Observation:0" not in state["done"]
    assert not (out / ".pull" / "parts" / "Observation").exists() or not any(
        (out / ".pull" / "parts" / "Observation").iterdir()
    )
    assert not (out / "ndjson").exists()

    with _client(server, clock) as client:
        result = pull_study(client, StudyRef.parse("s1"), PullOptions(out=out), clock=clock)
    assert result.resumed_steps >= 1
    assert server.requests["POST ResearchSubject/_search"] == 1  # the plan was kept
    assert _ids(out, "Observation") == ["o1", "o2", "o3"]
    assert json.loads((out / ".pull" / "state.json").read_text())["complete"]


def test_export_polls_with_retry_after_capped_and_restarts_an_expired_job(tmp_path):
    out = tmp_path / "out"
    server, clock = FakeServer(), Clock()
    timing = ExportTiming(max_wait=10.0, sleep=clock.sleep, clock=clock)
    with _client(server, clock) as client:
        # A status URL left by an earlier run whose job has expired since.
        (out / ".pull").mkdir(parents=True)
        server.expired_job = True
        (out / ".pull" / "state.json").write_text(
            json.dumps(
                {
                    "version": 1,
                    "server": BASE,
                    "study_id": "s1",
                    "method": "export",
                    "patients": None,
                    "done": [],
                    "complete": False,
                    "export": {"status_url": f"{BASE}/$export-poll-status?_jobId=old"},
                }
            )
        )
        result = pull_study(
            client,
            StudyRef.parse("s1"),
            PullOptions(out=out, method="export", export_timing=timing),
        )
    assert result.method == "export"
    assert server.requests["POST Patient/$export"] == 1
    assert clock.sleeps == [10.0, 10.0]  # Retry-After 120, capped
    assert _ids(out, "Observation") == ["o1", "o2", "o3"]
    assert _ids(out, "BiologicallyDerivedProduct") == ["b1"]  # found through the Provenance


def test_a_folder_of_another_study_or_of_other_files_is_refused(tmp_path):
    server, clock = FakeServer(), Clock()
    out = tmp_path / "out"
    (out / ".pull").mkdir(parents=True)
    (out / ".pull" / "state.json").write_text(
        json.dumps(
            {
                "version": 1,
                "server": BASE,
                "study_id": "other",
                "method": "search",
                "patients": [],
                "done": [],
                "complete": True,
                "export": {},
            }
        )
    )
    mine = tmp_path / "mine"
    (mine / "tables").mkdir(parents=True)
    with _client(server, clock) as client:
        with pytest.raises(PullFolderError, match="another study"):
            pull_study(client, StudyRef.parse("s1"), PullOptions(out=out))
        with pytest.raises(PullFolderError, match="no pull wrote"):
            pull_study(client, StudyRef.parse("s1"), PullOptions(out=mine))
        pull_study(client, StudyRef.parse("s1"), PullOptions(out=out, restart=True))
    assert _ids(out, "Observation") == ["o1", "o2", "o3"]


@pytest.mark.parametrize("study", ["not an id", "|value", "system|"])
def test_a_study_that_is_neither_id_nor_identifier_is_a_usage_error(study, tmp_path):
    result = CliRunner().invoke(
        main, ["pull", "--server", BASE, "--study", study, "--out", str(tmp_path / "out")]
    )
    assert result.exit_code == 2, result.output
    assert "--study" in result.output


def test_study_identifier_values_are_escaped_for_search():
    ref = StudyRef.parse("urn:x|A,B|C")
    assert (ref.system, ref.value) == ("urn:x", "A,B|C")
    from fhir_adapter.pull._study import escape_search_value

    assert escape_search_value("A,B|C$\\") == "A\\,B\\|C\\$\\\\"


def test_ctrl_c_exits_130_and_says_how_to_go_on(tmp_path, monkeypatch):
    import fhir_adapter.cli.pull as cli_pull

    def interrupted(*args: Any, **kwargs: Any) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(cli_pull, "pull_study", interrupted)
    result = CliRunner().invoke(
        main, ["pull", "--server", BASE, "--study", "s1", "--out", str(tmp_path / "out")]
    )
    assert result.exit_code == 130
    assert "run the same command again" in result.stderr
