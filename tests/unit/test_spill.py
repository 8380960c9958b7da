"""The spill holds raw rows (PHI): owner-only, gone after the run, however the run ended.

Signal and crash tests run a small click command in a subprocess that opens a spill and
waits; no FHIR server is needed.
"""

from __future__ import annotations

import gc
import json
import os
import signal
import stat
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from fhir_adapter._process_identity import ProcessIdentity
from fhir_adapter.pipeline.spill import MARKER, PREFIX, Spill, remove_stale_spills
from fhir_adapter.sources.row import SourceRow

REPO = Path(__file__).resolve().parents[2]
linux_only = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")

CHILD = textwrap.dedent("""
    import signal
    import time
    from pathlib import Path

    # A run started under nohup inherits SIGHUP ignored, and an ignored signal stays ignored
    # (by design); the child stands for a run in a terminal, where SIGHUP ends the process.
    signal.signal(signal.SIGHUP, signal.SIG_DFL)

    import click

    from fhir_adapter.pipeline.spill import Spill
    from fhir_adapter.sources.row import SourceRow

    @click.command()
    @click.argument("parent", type=click.Path(path_type=Path))
    def main(parent: Path) -> None:
        with Spill(parent) as spill:
            spill.add_table("subjects", ["id"], [("A-001", SourceRow("s.csv", 2, {"id": "A-001"}))])
            try:
                print(spill.path, flush=True)
                time.sleep(60)
            finally:
                print("unwound", flush=True)

    main()
""")


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def _spills(parent: Path) -> list[Path]:
    return sorted(p for p in parent.iterdir() if p.name.startswith(PREFIX))


def _dead_pid() -> int:
    finished = subprocess.Popen(["true"])
    finished.wait()
    return finished.pid


def _fake_spill(parent: Path, name: str, owner: dict[str, object] | None) -> Path:
    """A folder shaped like a spill left by the process ``owner`` describes."""
    folder = parent / f"{PREFIX}{name}"
    folder.mkdir(mode=0o700)
    (folder / "rows.sqlite").write_bytes(b"rows with PHI")
    if owner is not None:
        (folder / MARKER).write_text(json.dumps(owner))
    return folder


def _me(**changes: object) -> dict[str, object]:
    return {**ProcessIdentity.current().to_dict(), **changes}


# --- owner-only, removed on close ------------------------------------------------------------


def test_spill_is_owner_only_and_names_its_owner(tmp_path: Path) -> None:
    with Spill(tmp_path) as spill:
        assert spill.path.parent == tmp_path and spill.path.name.startswith(PREFIX)
        assert _mode(spill.path) == 0o700
        assert _mode(spill.path / "rows.sqlite") == 0o600
        assert _mode(spill.path / MARKER) == 0o600
        owner = ProcessIdentity.from_dict(json.loads((spill.path / MARKER).read_text()))
        assert owner == ProcessIdentity.current()


def test_spill_keeps_its_rows_until_closed(tmp_path: Path) -> None:
    spill = Spill(tmp_path)
    spill.add_table("t", ["a"], [("s1", SourceRow("f.csv", 2, {"a": "x"}))])
    assert [s for s, _ in spill.participants()] == ["s1"]
    spill.close()
    spill.close()  # idempotent
    assert _spills(tmp_path) == []


def test_a_forgotten_spill_is_removed_when_collected(tmp_path: Path) -> None:
    Spill(tmp_path)
    gc.collect()
    assert _spills(tmp_path) == []


# --- stale spills of dead runs -------------------------------------------------------------


def test_a_spill_of_a_dead_run_is_removed(tmp_path: Path) -> None:
    stale = _fake_spill(tmp_path, "dead", _me(pid=_dead_pid(), start_ticks=None))
    assert remove_stale_spills(tmp_path) == [stale]
    assert not stale.exists()


@linux_only
def test_a_reused_pid_counts_as_gone(tmp_path: Path) -> None:
    ticks = ProcessIdentity.current().start_ticks
    assert ticks is not None
    stale = _fake_spill(tmp_path, "reused", _me(start_ticks=ticks - 1))
    assert remove_stale_spills(tmp_path) == [stale]


@linux_only
def test_a_spill_from_before_a_reboot_is_removed(tmp_path: Path) -> None:
    stale = _fake_spill(tmp_path, "reboot", _me(boot_id="00000000-0000-0000-0000-000000000000"))
    assert remove_stale_spills(tmp_path) == [stale]


def test_opening_a_spill_removes_stale_ones(tmp_path: Path) -> None:
    stale = _fake_spill(tmp_path, "dead", _me(pid=_dead_pid(), start_ticks=None))
    with Spill(tmp_path) as spill:
        assert _spills(tmp_path) == [spill.path]
    assert not stale.exists()


@pytest.mark.parametrize(
    ("name", "owner"),
    [
        ("live", _me()),
        ("no-marker", None),
        ("malformed", {"pid": "twelve"}),
        ("other-host", _me(pid=_dead_pid(), scope="another-host/pid:[1]")),
    ],
)
def test_live_or_unclear_spills_are_left_alone(
    tmp_path: Path, name: str, owner: dict[str, object] | None
) -> None:
    folder = _fake_spill(tmp_path, name, owner)
    assert remove_stale_spills(tmp_path) == []
    assert (folder / "rows.sqlite").exists()


def test_only_our_folders_are_touched_and_links_are_not_followed(tmp_path: Path) -> None:
    dead = _me(pid=_dead_pid(), start_ticks=None)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    target = _fake_spill(elsewhere, "target", dead)
    (tmp_path / f"{PREFIX}link").symlink_to(target)
    other_prefix = tmp_path / "fhir-adapter-abc"  # an older version's spill: not provably ours
    other_prefix.mkdir()
    (other_prefix / MARKER).write_text(json.dumps(dead))
    linked_marker = _fake_spill(tmp_path, "linked-marker", None)
    (linked_marker / MARKER).symlink_to(target / MARKER)

    assert remove_stale_spills(tmp_path) == []
    assert target.exists() and other_prefix.exists() and linked_marker.exists()
    assert (tmp_path / f"{PREFIX}link").is_symlink()


# --- signal handlers, in process ---------------------------------------------------------------


@pytest.fixture
def saved_sigterm() -> Iterator[None]:
    before = signal.getsignal(signal.SIGTERM)
    yield
    signal.signal(signal.SIGTERM, before)


def test_handlers_are_installed_while_a_spill_is_open(tmp_path: Path, saved_sigterm: None) -> None:
    def previous(signum: int, frame: object) -> None:
        pass

    signal.signal(signal.SIGTERM, previous)
    with Spill(tmp_path):
        assert signal.getsignal(signal.SIGTERM) is not previous
    assert signal.getsignal(signal.SIGTERM) is previous


def test_a_previous_handler_that_returns_keeps_the_run_and_its_spill(
    tmp_path: Path, saved_sigterm: None
) -> None:
    seen: list[int] = []
    signal.signal(signal.SIGTERM, lambda signum, frame: seen.append(signum))
    with Spill(tmp_path) as spill:
        signal.raise_signal(signal.SIGTERM)
        assert seen == [signal.SIGTERM]
        assert spill.path.exists()


def test_a_previous_handler_that_raises_gets_the_spill_removed_first(
    tmp_path: Path, saved_sigterm: None
) -> None:
    class Stop(Exception):
        pass

    def stop(signum: int, frame: object) -> None:
        raise Stop

    signal.signal(signal.SIGTERM, stop)
    spill = Spill(tmp_path)
    with pytest.raises(Stop):
        signal.raise_signal(signal.SIGTERM)
    assert not spill.path.exists()
    assert signal.getsignal(signal.SIGTERM) is stop  # restored once no spill is open


def test_an_ignored_signal_stays_ignored(tmp_path: Path, saved_sigterm: None) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    with Spill(tmp_path):
        assert signal.getsignal(signal.SIGTERM) == signal.SIG_IGN


def test_a_spill_in_a_worker_thread_leaves_handlers_alone(
    tmp_path: Path, saved_sigterm: None
) -> None:
    before = signal.getsignal(signal.SIGTERM)
    seen: list[object] = []

    def work() -> None:
        with Spill(tmp_path):
            seen.append(signal.getsignal(signal.SIGTERM))

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    assert seen == [before]
    assert _spills(tmp_path) == []


# --- crashes and signals, in a subprocess ------------------------------------------------------


def _start_child(parent: Path) -> tuple[subprocess.Popen[str], Path]:
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(parent)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    assert child.stdout is not None
    line = child.stdout.readline().strip()
    assert line, child.stderr.read() if child.stderr else ""
    return child, Path(line)


@pytest.mark.parametrize(
    ("signum", "exit_code"),
    [
        (signal.SIGTERM, 128 + signal.SIGTERM),
        (signal.SIGHUP, 128 + signal.SIGHUP),
        (signal.SIGINT, 1),
    ],  # click turns KeyboardInterrupt into "Aborted!", exit 1
)
def test_a_signal_ends_the_run_and_removes_its_spill(
    tmp_path: Path, signum: int, exit_code: int
) -> None:
    child, spill = _start_child(tmp_path)
    assert (spill / "rows.sqlite").exists()

    child.send_signal(signum)
    out, _ = child.communicate(timeout=30)

    assert child.returncode == exit_code
    assert "unwound" in out  # finally blocks and context managers ran
    assert not spill.exists()


def test_the_next_run_removes_the_spill_of_a_killed_run(tmp_path: Path) -> None:
    child, spill = _start_child(tmp_path)
    child.kill()  # SIGKILL: nothing runs in the child
    child.wait()
    assert (spill / "rows.sqlite").exists()

    mapped = subprocess.run(
        [
            sys.executable,
            "-m",
            "fhir_adapter.cli",
            "map",
            "--mapping",
            "mappings/study_a.yaml",
            "--data",
            "examples/study_a",
            "--out",
            str(tmp_path / "out"),
            "--json",
        ],
        cwd=REPO,
        env={**os.environ, "TMPDIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert mapped.returncode in (0, 1), mapped.stderr
    assert not spill.exists()
    assert _spills(tmp_path) == []  # nor the spill of the run that just finished
