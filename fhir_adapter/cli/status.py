"""`fhir-adapter status`: what a server holds of a study, and what the last runs did."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import click
from rich.markup import escape
from rich.table import Table

from fhir_adapter.cli._errors import EXIT_OK, reports_errors
from fhir_adapter.cli._progress import stdout
from fhir_adapter.cli._server_options import make_client, pop_server_settings, server_options
from fhir_adapter.cli.sync import LEDGER_DIR
from fhir_adapter.kinds import registry
from fhir_adapter.mapping.loader import load_mapping
from fhir_adapter.sync import Ledger, default_ledger_path
from fhir_adapter.sync.ledger import RunRecord
from fhir_adapter.verify.holdings import server_holdings


@click.command("status")
@click.option(
    "--mapping",
    "mapping_path",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Mapping file of the study (its study key and identifier systems).",
)
@server_options
@click.option(
    "--ledger",
    "ledger_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help=f"Ledger file (default: the one sync uses, under {LEDGER_DIR}).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
@reports_errors
def status_command(
    mapping_path: Path, ledger_path: Path | None, as_json: bool, **server: Any
) -> None:
    """What the server holds of this study per resource type, next to what the ledger
    recorded, and when sync and verify last ran, from which mapping and data folder.

    Reads only. Needs no data folder. Exit 0 whenever the server answered.

    \b
      fhir-adapter status --mapping mappings/study_a.yaml --server http://127.0.0.1:8080/fhir
    """
    settings = pop_server_settings(server)
    loaded = load_mapping(mapping_path)
    path = ledger_path or default_ledger_path(
        LEDGER_DIR, settings["server_url"], loaded.spec.study.key
    )
    recorded: dict[str, int] = {}
    ids: dict[str, list[str]] = {}
    meta: dict[str, str] = {}
    runs: dict[str, RunRecord | None] = {"sync": None, "verify": None}
    with make_client(**settings) as client:
        client.capabilities()
        if path.exists():
            with Ledger(
                path, server_url=settings["server_url"], study_key=loaded.spec.study.key
            ) as ledger:
                recorded = ledger.counts()
                meta = ledger.meta()
                runs = {kind: ledger.last_run(kind) for kind in runs}
                ids = {
                    kind: [e.id for e in entries]
                    for kind, entries in ledger.by_type().items()
                    if kind in registry.tag_matched
                }
        held = server_holdings(client, loaded.spec, ids)
    status = {
        "server": str(settings["server_url"]),
        "study": loaded.spec.study.key,
        "ledger": str(path) if path.exists() else None,
        "owner_mapping": meta.get("mapping"),
        "write_mode": meta.get("write_mode"),
        "resources": {
            kind: {"ledger": recorded.get(kind, 0), "server": held[kind]} for kind in held
        },
        "last_runs": {kind: asdict(run) if run else None for kind, run in runs.items()},
    }
    if as_json:
        click.echo(json.dumps(status, indent=2))
        raise SystemExit(EXIT_OK)
    _print(status)
    raise SystemExit(EXIT_OK)


def _print(status: dict[str, Any]) -> None:
    table = Table(title=escape(f"{status['study']} on {status['server']}"))
    for column in ("resource type", "in ledger", "on server"):
        table.add_column(
            column, justify="left" if column == "resource type" else "right", overflow="fold"
        )
    for kind, counts in sorted(status["resources"].items()):
        server = counts["server"]
        table.add_row(kind, f"{counts['ledger']:,}", "?" if server is None else f"{server:,}")
    stdout.print(table)
    if any(c["server"] is None for c in status["resources"].values()):
        stdout.print(
            "?: R4 cannot search this type by identifier, and the ledger records "
            "none of it to count by tag",
            highlight=False,
        )
    if status["ledger"] is None:
        stdout.print(
            "no ledger here for this server and study: never synced from this folder "
            "(or pass --ledger)",
            highlight=False,
        )
        return
    stdout.print(
        f"ledger: {status['ledger']} (mapping {status['owner_mapping']}, "
        f"{status['write_mode']} mode)",
        highlight=False,
    )
    for kind, run in status["last_runs"].items():
        if run is None:
            stdout.print(f"last {kind}: never", highlight=False)
            continue
        verdict = "ok" if run["ok"] else "NOT ok"
        stdout.print(
            f"last {kind}: {run['finished']} {verdict}: {run['summary']} "
            f"(mapping {run['mapping']}, data {run['data']})",
            highlight=False,
        )


COMMANDS = [status_command]
