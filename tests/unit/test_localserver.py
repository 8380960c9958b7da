"""The pure parts of fhir_adapter.localserver: cache key, build cache, state, pid checks, tools.

No JVM here: "java" processes are a Python interpreter started under the name ``java``,
and Maven is a shell script, so these run in a second or two.
"""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from fhir_adapter.errors import LocalServerError
from fhir_adapter.localserver import (
    ensure_jar,
    find_server_dir,
    server_status,
    source_hash,
    start_server,
    stop_server,
)
from fhir_adapter.localserver._paths import JAR_NAME
from fhir_adapter.localserver._process import spawn
from fhir_adapter.localserver._redact import redact_jdbc_url
from fhir_adapter.localserver._state import (
    ServerRecord,
    is_our_process,
    pid_alive,
    proc_start_ticks,
    read_record,
    remove_record,
    write_record,
)
from fhir_adapter.localserver._tools import find_java, find_maven, parse_java_major

linux_only = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")


# --- source hash and jar cache -------------------------------------------------------------


@pytest.fixture
def server_dir(tmp_path: Path) -> Path:
    project = tmp_path / "server"
    (project / "src" / "main" / "java").mkdir(parents=True)
    (project / "pom.xml").write_text("<project/>")
    (project / "src" / "main" / "java" / "App.java").write_text("class App {}")
    return project


def test_source_hash_is_stable_and_ignores_build_output(server_dir: Path) -> None:
    before = source_hash(server_dir)
    (server_dir / "target").mkdir()
    (server_dir / "target" / "junk.class").write_bytes(b"\x00")
    assert source_hash(server_dir) == before
    assert len(before) == 16


@pytest.mark.parametrize("change", ["edit_source", "edit_pom", "add_file", "rename_file"])
def test_source_hash_changes_with_the_sources(server_dir: Path, change: str) -> None:
    before = source_hash(server_dir)
    java = server_dir / "src" / "main" / "java"
    if change == "edit_source":
        (java / "App.java").write_text("class App { int x; }")
    elif change == "edit_pom":
        (server_dir / "pom.xml").write_text("<project><v/></project>")
    elif change == "add_file":
        (server_dir / "src" / "main" / "application.properties").write_text("a=b")
    else:
        (java / "App.java").rename(java / "Main.java")
    assert source_hash(server_dir) != before


def test_find_server_dir_explains_a_missing_checkout(tmp_path: Path) -> None:
    with pytest.raises(LocalServerError, match="source checkout"):
        find_server_dir(tmp_path)


def test_the_repository_server_dir_is_found() -> None:
    assert (find_server_dir() / "pom.xml").is_file()


def _fake_maven(bin_dir: Path, *, succeed: bool) -> Path:
    """An ``mvn`` that counts its runs and writes a jar (or fails loudly)."""
    bin_dir.mkdir(exist_ok=True)
    script = bin_dir / "mvn"
    body = (
        f"mkdir -p target && echo jar > target/{JAR_NAME}"
        if succeed
        else ('echo "[ERROR] cannot resolve ca.uhn.hapi.fhir:hapi-fhir-jpaserver-base"; exit 1')
    )
    script.write_text(f'#!/bin/sh\necho run >> "{bin_dir}/runs"\n{body}\n')
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return script


def test_ensure_jar_builds_once_then_reuses_the_cache(server_dir: Path, tmp_path: Path) -> None:
    mvn = _fake_maven(tmp_path / "bin", succeed=True)
    cache = tmp_path / "cache"
    messages: list[str] = []

    jar = ensure_jar(
        server_dir=server_dir, cache_dir=cache, maven=str(mvn), progress=messages.append
    )
    again = ensure_jar(server_dir=server_dir, cache_dir=cache, maven=str(mvn))

    assert jar == again == cache / source_hash(server_dir) / JAR_NAME
    assert jar.read_text() == "jar\n"
    assert (tmp_path / "bin" / "runs").read_text().count("run") == 1
    assert len(messages) == 1
    assert not (server_dir / "target").exists()  # the checkout is never written to


def test_ensure_jar_rebuild_runs_maven_again(server_dir: Path, tmp_path: Path) -> None:
    mvn = _fake_maven(tmp_path / "bin", succeed=True)
    cache = tmp_path / "cache"
    ensure_jar(server_dir=server_dir, cache_dir=cache, maven=str(mvn))
    ensure_jar(server_dir=server_dir, cache_dir=cache, maven=str(mvn), rebuild=True)
    assert (tmp_path / "bin" / "runs").read_text().count("run") == 2


def test_failed_build_reports_the_log_tail_and_caches_nothing(
    server_dir: Path, tmp_path: Path
) -> None:
    mvn = _fake_maven(tmp_path / "bin", succeed=False)
    cache = tmp_path / "cache"
    with pytest.raises(LocalServerError, match="cannot resolve") as failure:
        ensure_jar(server_dir=server_dir, cache_dir=cache, maven=str(mvn))
    assert "build.log" in str(failure.value)
    assert not (cache / source_hash(server_dir) / JAR_NAME).exists()


@linux_only
def test_a_new_build_prunes_jars_of_other_versions(server_dir: Path, tmp_path: Path) -> None:
    mvn = _fake_maven(tmp_path / "bin", succeed=True)
    cache = tmp_path / "cache"
    old = cache / "0123456789abcdef"
    building = cache / "fedcba9876543210"
    (old).mkdir(parents=True)
    (old / JAR_NAME).write_text("old")
    (building / "build-x").mkdir(parents=True)  # another build still running
    unrelated = cache / "notes"
    unrelated.mkdir()
    running = cache / "aaaaaaaaaaaaaaaa"
    running.mkdir()
    (running / JAR_NAME).write_text("in use")
    user = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(30)", "-jar", str(running / JAR_NAME)]
    )
    try:
        jar = ensure_jar(server_dir=server_dir, cache_dir=cache, maven=str(mvn))
    finally:
        user.kill()
        user.wait()

    assert jar.is_file()
    assert not old.exists()
    assert building.exists() and unrelated.exists()
    assert running.exists()  # a running server still needs its jar


def test_cache_hit_needs_no_maven(
    server_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "cache"
    jar = cache / source_hash(server_dir) / JAR_NAME
    jar.parent.mkdir(parents=True)
    jar.write_text("cached")
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert ensure_jar(server_dir=server_dir, cache_dir=cache) == jar


def test_cache_miss_without_maven_says_how_to_install(
    server_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(LocalServerError, match="apt-get install openjdk-17-jdk-headless maven"):
        ensure_jar(server_dir=server_dir, cache_dir=tmp_path / "cache")


# --- java and maven discovery --------------------------------------------------------------


@pytest.mark.parametrize(
    ("output", "major"),
    [
        ('openjdk version "17.0.15" 2025-04-15', 17),
        ('java version "1.8.0_392"', 8),
        ('openjdk version "21" 2023-09-19', 21),
        ("no version here", None),
    ],
)
def test_parse_java_major(output: str, major: int | None) -> None:
    assert parse_java_major(output) == major


def test_missing_java_says_how_to_install() -> None:
    with pytest.raises(LocalServerError, match="'java' was not found.*openjdk-17-jdk-headless"):
        find_java(which=lambda name: None)


def test_old_java_is_refused() -> None:
    with pytest.raises(LocalServerError, match="found Java 11"):
        find_java(
            which=lambda name: "/usr/bin/java",
            probe=lambda java: 'openjdk version "11.0.2" 2019-01-15',
        )


def test_java_17_is_accepted() -> None:
    assert (
        find_java(
            which=lambda name: "/opt/jdk/bin/java", probe=lambda java: 'openjdk version "17.0.1"'
        )
        == "/opt/jdk/bin/java"
    )


def test_missing_maven_says_how_to_install() -> None:
    with pytest.raises(LocalServerError, match="'mvn'.*apt-get install"):
        find_maven(which=lambda name: None)


# --- state records and pid checks ----------------------------------------------------------


def _record(
    pid: int, *, port: int = 18999, jar: str = "/nowhere/server.jar", ticks: int | None = None
) -> ServerRecord:
    return ServerRecord(
        pid=pid,
        port=port,
        url=f"http://127.0.0.1:{port}/fhir",
        jar=jar,
        log="/tmp/server.log",
        started_at=time.time() - 5,
        proc_start_ticks=ticks,
        database="jdbc:h2:mem:hapi",
    )


@pytest.fixture
def fake_java(tmp_path: Path):
    """A live process whose argv looks like ``java ... -jar <jar>``; yields (process, jar)."""
    java = tmp_path / "jdk" / "java"
    java.parent.mkdir()
    java.symlink_to(sys.executable)
    jar = str(tmp_path / "server.jar")
    process = subprocess.Popen([str(java), "-c", "import time; time.sleep(60)", "-jar", jar])
    try:
        yield process, jar
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()


def test_record_round_trip_and_removal(tmp_path: Path) -> None:
    record = _record(1234, ticks=42)
    write_record(tmp_path, record)
    assert read_record(tmp_path, record.port) == record
    remove_record(tmp_path, record.port)
    assert read_record(tmp_path, record.port) is None


def test_corrupt_record_reads_as_absent(tmp_path: Path) -> None:
    (tmp_path / "18999").mkdir()
    (tmp_path / "18999" / "server.json").write_text("{not json")
    assert read_record(tmp_path, 18999) is None


def test_dead_pid_is_not_ours() -> None:
    finished = subprocess.Popen(["true"])
    finished.wait()
    assert not pid_alive(finished.pid)
    assert not is_our_process(_record(finished.pid))


@linux_only
def test_a_live_process_that_is_not_our_java_is_not_ours() -> None:
    assert not is_our_process(_record(os.getpid()))  # alive, but python running pytest


@linux_only
def test_our_java_is_recognised_by_jar_and_start_time(fake_java) -> None:
    process, jar = fake_java
    ticks = proc_start_ticks(process.pid)
    assert is_our_process(_record(process.pid, jar=jar, ticks=ticks))
    assert not is_our_process(_record(process.pid, jar=jar, ticks=(ticks or 0) + 1))  # reused
    assert not is_our_process(_record(process.pid, jar="/other.jar", ticks=ticks))


@linux_only
def test_stop_ends_exactly_our_process(fake_java, tmp_path: Path) -> None:
    process, jar = fake_java
    state = tmp_path / "state"
    write_record(state, _record(process.pid, jar=jar, ticks=proc_start_ticks(process.pid)))

    assert stop_server(18999, state_dir=state, grace_seconds=5)

    process.wait(timeout=10)  # stop_server already reaped it (exit status is gone)
    assert not pid_alive(process.pid)
    assert read_record(state, 18999) is None
    assert not stop_server(18999, state_dir=state)


def test_stop_with_a_stale_record_kills_nothing(tmp_path: Path) -> None:
    write_record(tmp_path, _record(os.getpid()))  # our own pid: must survive
    assert stop_server(18999, state_dir=tmp_path) is False
    assert read_record(tmp_path, 18999) is None


def test_status_is_none_without_a_server(tmp_path: Path) -> None:
    assert server_status(18999, state_dir=tmp_path) is None
    write_record(tmp_path, _record(os.getpid()))
    assert server_status(18999, state_dir=tmp_path) is None  # stale record cleaned up
    assert read_record(tmp_path, 18999) is None


@linux_only
def test_start_refuses_when_our_server_already_runs(fake_java, tmp_path: Path) -> None:
    process, jar = fake_java
    write_record(tmp_path, _record(process.pid, jar=jar, ticks=proc_start_ticks(process.pid)))
    with pytest.raises(LocalServerError, match="already runs on port 18999"):
        start_server(18999, state_dir=tmp_path)
    assert process.poll() is None


def test_start_refuses_a_port_in_use(tmp_path: Path) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        with pytest.raises(LocalServerError, match=f"port {port} .* in use"):
            start_server(port, state_dir=tmp_path)


# --- attached processes die with their parent ----------------------------------------------


@linux_only
def test_attached_child_dies_when_its_parent_is_killed(tmp_path: Path) -> None:
    parent_code = textwrap.dedent(f"""
        import sys, time
        from pathlib import Path
        from fhir_adapter.localserver._process import spawn
        child = spawn([sys.executable, "-c", "import time; time.sleep(60)"],
                      log_path=Path({str(tmp_path / "child.log")!r}), env={{}}, detach=False)
        print(child.pid, flush=True)
        time.sleep(60)
    """)
    parent = subprocess.Popen(
        [sys.executable, "-c", parent_code], stdout=subprocess.PIPE, text=True
    )
    assert parent.stdout is not None
    child_pid = int(parent.stdout.readline())
    assert pid_alive(child_pid)

    parent.kill()  # SIGKILL: no finalizer runs; only the kernel's parent-death signal can help
    parent.wait()

    deadline = time.monotonic() + 10
    while pid_alive(child_pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not pid_alive(child_pid)


# --- credentials ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("jdbc:h2:mem:hapi;DB_CLOSE_DELAY=-1", "jdbc:h2:mem:hapi;DB_CLOSE_DELAY=-1"),
        (
            "jdbc:postgresql://db/hapi?user=admin&password=s3cret",
            "jdbc:postgresql://db/hapi?user=***&password=***",
        ),
        ("jdbc:postgresql://admin:s3cret@db/hapi", "jdbc:postgresql://***@db/hapi"),
    ],
)
def test_jdbc_urls_are_redacted(url: str, expected: str) -> None:
    assert redact_jdbc_url(url) == expected


# --- owner-only state: the server log holds match URLs with business identifiers ------------


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_records_are_owner_only_in_owner_only_folders(tmp_path: Path) -> None:
    state = tmp_path / "state"
    written = write_record(state, _record(1234))
    assert _mode(state) == 0o700
    assert _mode(written.parent) == 0o700
    assert _mode(written) == 0o600


def test_existing_state_is_tightened(tmp_path: Path) -> None:
    state = tmp_path / "state"
    port = state / "18999"
    port.mkdir(parents=True)
    state.chmod(0o755)
    port.chmod(0o755)
    log = port / "server.log"
    log.write_text("GET /fhir/Patient?identifier=urn:site|A-001\n")
    log.chmod(0o644)
    (port / "server.json").write_text("{}")
    (port / "server.json").chmod(0o644)

    write_record(state, _record(1234))

    assert (_mode(state), _mode(port)) == (0o700, 0o700)
    assert _mode(log) == 0o600
    assert _mode(port / "server.json") == 0o600


def test_a_refused_start_still_tightens_the_state(tmp_path: Path) -> None:
    state = tmp_path / "state"
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        log = state / str(port) / "server.log"
        log.parent.mkdir(parents=True)
        state.chmod(0o755)
        log.write_text("a log of an older version")
        log.chmod(0o644)
        with pytest.raises(LocalServerError, match="in use"):
            start_server(port, state_dir=state)
    assert (_mode(state), _mode(log.parent), _mode(log)) == (0o700, 0o700, 0o600)


def test_spawned_log_is_owner_only_even_if_it_existed(tmp_path: Path) -> None:
    log = tmp_path / "logs" / "server.log"
    log.parent.mkdir()
    log.write_text("")
    log.chmod(0o644)
    child = spawn(["true"], log_path=log, env={}, detach=True)
    child.wait()
    assert _mode(log) == 0o600
    assert _mode(log.parent) == 0o700
