"""No input reaches the user as a traceback: every command, given a battery of bad arguments,
answers with a short message and an exit code from README's table."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from fhir_adapter.cli import main

REPO = Path(__file__).resolve().parents[3]
MAPPING = str(REPO / "mappings" / "study_a.yaml")
DATA = str(REPO / "examples" / "study_a")
DOCUMENTED = {1, 2, 3, 4, 5, 6, 7, 8}
# A port nothing listens on: refused at once. The short timeout ends the retries quickly.
DEAD_SERVER = ["--server", "http://127.0.0.1:9/fhir", "--timeout", "2"]
BAD_URLS = [
    "127.0.0.1:8080/fhir",
    "localhost:8080/fhir",
    "htp://x/fhir",
    "http://",
    "http://[::1/fhir",
    "http://h/fhir?x=1",
    "",
    "ftp://h/fhir",
]
SERVER_COMMANDS = ("sync", "verify")  # take --server (validate takes it optionally)


def _leaf_commands(
    group: click.Group, prefix: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], click.Command]]:
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            yield from _leaf_commands(command, (*prefix, name))
        else:
            yield (*prefix, name), command


LEAVES = dict(_leaf_commands(main))


def _bad_files(tmp: Path) -> dict[str, Path]:
    binary = tmp / "binary.yaml"
    binary.write_bytes(b"\x00\xff\xfe" * 100)
    empty = tmp / "empty.yaml"
    empty.write_text("")
    garbage = tmp / "garbage.yaml"
    garbage.write_text("study: [unclosed\n  - : :\n")
    scalar = tmp / "scalar.yaml"
    scalar.write_text("42\n")
    latin1 = tmp / "latin1.yaml"
    latin1.write_bytes("study: caf\xe9\n".encode("latin-1"))
    return {
        "binary": binary,
        "empty": empty,
        "garbage": garbage,
        "scalar": scalar,
        "latin1": latin1,
        "folder": tmp,
        "missing": tmp / "missing.yaml",
    }


def _cases(tmp: Path) -> Iterator[tuple[str, list[str]]]:
    files = _bad_files(tmp)
    for path, command in LEAVES.items():
        name = " ".join(path)
        yield f"{name} --bogus", [*path, "--bogus"]
        for param in command.params:
            if not isinstance(param, click.Option) or param.is_flag:
                continue
            flag = param.opts[-1] if param.opts[-1].startswith("--") else param.opts[0]
            kind = param.type
            if isinstance(kind, click.Choice):
                yield f"{name} {flag} bad choice", [*path, flag, "no-such-choice"]
            elif isinstance(kind, (click.types.IntParamType, click.types.FloatParamType)):
                yield f"{name} {flag} not a number", [*path, flag, "abc"]
                yield f"{name} {flag} negative", [*path, flag, "-5"]
            elif isinstance(kind, click.Path) and path[0] != "server":
                # (server commands accept any folder: a valid one would start a server)
                for label, bad in files.items():
                    yield f"{name} {flag} {label}", [*path, flag, str(bad)]
    for name in ("map", "validate", *SERVER_COMMANDS):
        base = [name, "--mapping", MAPPING, "--data", DATA]
        if name == "map":
            base += ["--out", str(tmp / "out")]
        for label, bad in files.items():
            yield (
                f"{name} --mapping {label}",
                [
                    name,
                    "--mapping",
                    str(bad),
                    "--data",
                    DATA,
                    *(["--out", str(tmp / "o")] if name == "map" else []),
                ],
            )
        yield f"{name} --data a file", [*base[:3], "--data", MAPPING, *base[5:]]
        if name in SERVER_COMMANDS:
            for url in BAD_URLS:
                yield f"{name} --server {url!r}", [*base, "--server", url]
            yield (
                f"{name} dead server",
                [*base, *DEAD_SERVER, "--ledger", str(tmp / "ledger.sqlite")],
            )
            yield (
                f"{name} ledger in a file's place",
                [*base, *DEAD_SERVER, "--ledger", str(files["binary"] / "l.sqlite")],
            )
    yield (
        "map --out onto a file",
        ["map", "--mapping", MAPPING, "--data", DATA, "--out", str(files["binary"])],
    )
    yield "validate --server bad", ["validate", "--mapping", MAPPING, "--server", "nope"]


def test_the_battery_covers_every_command(tmp_path: Path) -> None:
    covered = {" ".join(args[:2]) for _, args in _cases(tmp_path)}
    for path in LEAVES:
        assert any(c.startswith(" ".join(path)) for c in covered), path


def test_no_bad_argument_ends_in_a_traceback(tmp_path: Path) -> None:
    runner = CliRunner()
    failures = []
    for label, args in _cases(tmp_path):
        result = runner.invoke(main, args, catch_exceptions=True)
        output = result.output + (result.stderr if result.stderr_bytes is not None else "")
        escaped = result.exception is not None and not isinstance(result.exception, SystemExit)
        if escaped or "Traceback" in output or result.exit_code not in DOCUMENTED:
            failures.append(
                f"{label}: exit {result.exit_code}, {type(result.exception).__name__}"
                f" {result.exception!s:.200}"
            )
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("verbose", [False, True])
def test_an_internal_error_is_one_line_and_minus_v_shows_it(verbose: bool, monkeypatch) -> None:
    import fhir_adapter.cli.mapping as commands

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(commands, "load_mapping", broken)
    result = CliRunner().invoke(
        main, [*(["-v"] if verbose else []), "validate", "--mapping", MAPPING]
    )
    if verbose:
        assert isinstance(result.exception, RuntimeError)
    else:
        assert result.exit_code == 70 and "internal error (RuntimeError)" in result.output
