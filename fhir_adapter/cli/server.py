"""``fhir-adapter server``: run a local HAPI FHIR R4 server on 127.0.0.1 for development."""

from __future__ import annotations

import json
import time
from pathlib import Path

import click
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from fhir_adapter.cli._errors import reports_errors
from fhir_adapter.errors import ConfigError
from fhir_adapter.localserver import (
    DEFAULT_PORT,
    DEFAULT_TIMEOUT,
    default_state_dir,
    parse_registration,
    register_client,
    revoke_client,
    server_status,
    start_server,
    stop_server,
)

_port_option = click.option(
    "--port",
    type=click.IntRange(1, 65535),
    default=DEFAULT_PORT,
    show_default=True,
    envvar="FHIR_ADAPTER_SERVER_PORT",
    help="Port on 127.0.0.1 [env FHIR_ADAPTER_SERVER_PORT].",
)


def _duration(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"


@click.group()
def server() -> None:
    """Run a real HAPI FHIR R4 server locally (127.0.0.1 only; open, or --secure).

    \b
    The server is built from server/ with Maven on first use (a few minutes, downloads
    into ~/.m2) and cached in ~/.cache/fhir-adapter/server; later starts take 30-90 s.
    It behaves like the public sandbox hapi.fhir.org/baseR4. Needs Java 17+ and Maven:
      sudo apt-get install openjdk-17-jdk-headless maven

    \b
      fhir-adapter server start             # in-memory database, port 8080
      fhir-adapter server start --secure --register-client sync=keys/jwks.json
      fhir-adapter server status --json
      fhir-adapter server stop
    """


@server.command(short_help="Start the server in the background and wait until ready.")
@_port_option
@click.option(
    "--db-url",
    envvar="FHIR_ADAPTER_DB_URL",
    metavar="JDBC_URL",
    help="Keep data in this database instead of memory, e.g. jdbc:h2:file:./hapi-db or "
    "jdbc:postgresql://localhost/hapi (credentials via SPRING_DATASOURCE_USERNAME and "
    "SPRING_DATASOURCE_PASSWORD) [env FHIR_ADAPTER_DB_URL].",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=1),
    default=DEFAULT_TIMEOUT,
    show_default=True,
    help="Seconds to wait for the server to answer.",
)
@click.option("--rebuild", is_flag=True, help="Rebuild the server jar even if one is cached.")
@click.option(
    "--cache-dir",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="FHIR_ADAPTER_SERVER_CACHE",
    help="Where built jars are cached [env FHIR_ADAPTER_SERVER_CACHE].",
)
@click.option(
    "--secure",
    is_flag=True,
    help="Protect /fhir with SMART Backend Services: an OAuth 2.0 authorization "
    "server on the same port issues access tokens to registered clients "
    "(docs/auth.md).",
)
@click.option(
    "--register-client",
    "registrations",
    multiple=True,
    metavar="ID=JWKS[:SCOPES]",
    help="With --secure: a client id, its public JWKS file (from 'auth keygen') and "
    "the scopes it may get (default 'system/*.rs system/*.cu system/*.d'); "
    "repeatable. Replaces the clients registered on this port.",
)
@reports_errors
def start(
    port: int,
    db_url: str | None,
    timeout: float,
    rebuild: bool,
    cache_dir: Path | None,
    secure: bool,
    registrations: tuple[str, ...],
) -> None:
    """Build if needed, start the server in the background and wait until it is ready.

    The server keeps running after this command returns; stop it with 'server stop'.
    """
    if registrations and not secure:
        raise click.UsageError("--register-client needs --secure")
    clients = [parse_registration(text) for text in registrations]
    running = server_status(port)
    if running is not None:
        if running.secure != secure or clients:
            raise ConfigError(
                f"a{' secure' if running.secure else 'n open'} server already runs on port "
                f"{port}; stop it first ('fhir-adapter server stop --port {port}'), or change "
                "its clients with 'server register-client' and 'server revoke-client'"
            )
        click.echo(
            f"Already running: {running.url} (pid {running.pid}, "
            f"HAPI {running.hapi_version or '?'})."
        )
        return
    console = Console(stderr=True)
    started = time.monotonic()
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as progress:
        task = progress.add_task("Preparing the HAPI FHIR server", total=None)
        handle = start_server(
            port,
            db_url=db_url,
            timeout=timeout,
            rebuild=rebuild,
            detach=True,
            cache_dir=cache_dir,
            progress=lambda message: progress.update(task, description=message + " ..."),
            secure=secure,
            clients=clients,
        )
    click.echo(
        f"HAPI FHIR {handle.hapi_version or '?'} ready at {handle.url} "
        f"(pid {handle.pid}, {time.monotonic() - started:.0f} s)\n"
        f"log: {handle.log_path}\n"
        f"stop with: fhir-adapter server stop --port {port}"
    )
    if secure:
        names = ", ".join(c.client_id for c in clients) or "none yet ('server register-client')"
        click.echo(
            f"secure: SMART Backend Services, token endpoint "
            f"http://127.0.0.1:{port}/oauth2/token; clients: {names}"
        )


def _secure_server(port: int) -> None:
    current = server_status(port)
    if current is None or not current.secure:
        raise ConfigError(
            f"no secure fhir-adapter server runs on port {port}; start one with "
            f"'fhir-adapter server start --secure --port {port}'"
        )


@server.command("register-client", short_help="Let a SMART client use the secure server.")
@click.argument("registration", metavar="ID=JWKS[:SCOPES]")
@_port_option
@reports_errors
def register_client_command(registration: str, port: int) -> None:
    """Register (or replace) a client of the secure server on PORT, effective at once.

    JWKS is the public jwks.json that 'fhir-adapter auth keygen' wrote; SCOPES default to
    'system/*.rs system/*.cu system/*.d'.
    """
    client = parse_registration(registration)
    _secure_server(port)
    register_client(default_state_dir(), port, client)
    click.echo(f"Registered client {client.client_id} ({' '.join(client.scopes)}) on port {port}.")


@server.command("revoke-client", short_help="Revoke a SMART client of the secure server.")
@click.argument("client_id")
@_port_option
@reports_errors
def revoke_client_command(client_id: str, port: int) -> None:
    """Revoke CLIENT_ID on the secure server on PORT, effective at once: it gets no new
    token, and the tokens it holds are refused from the next request on."""
    _secure_server(port)
    if not revoke_client(default_state_dir(), port, client_id):
        raise ConfigError(f"no client {client_id} is registered on port {port}")
    click.echo(f"Revoked client {client_id} on port {port}.")


@server.command(short_help="Stop the server that 'server start' launched.")
@_port_option
@reports_errors
def stop(port: int) -> None:
    """Stop the server that 'server start' launched on PORT (and nothing else)."""
    if stop_server(port):
        click.echo(f"Stopped the HAPI FHIR server on port {port}.")
    else:
        click.echo(f"No fhir-adapter HAPI FHIR server was running on port {port}.")


@server.command(short_help="Show URL, pid, HAPI version and uptime.")
@_port_option
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
@reports_errors
def status(port: int, as_json: bool) -> None:
    """Show URL, pid, HAPI version and uptime of the server on PORT.

    Exit code 0 when it runs, 1 when it does not (so scripts can test it).
    """
    current = server_status(port)
    if as_json:
        payload = (
            {"running": False, "port": port}
            if current is None
            else {"running": True, **current.to_dict()}
        )
        click.echo(json.dumps(payload, indent=2))
        raise SystemExit(0 if current is not None else 1)
    if current is None:
        click.echo(f"No fhir-adapter HAPI FHIR server is running on port {port}.")
        raise SystemExit(1)
    click.echo(
        f"url:      {current.url}\n"
        f"pid:      {current.pid}\n"
        f"hapi:     {current.hapi_version or 'not answering'}\n"
        f"uptime:   {_duration(current.uptime_seconds)}\n"
        f"database: {current.database}\n"
        f"log:      {current.log_path}"
    )
    if current.secure:
        click.echo(
            f"auth:     SMART Backend Services, token endpoint {current.token_url}\n"
            f"clients:  {', '.join(current.clients) or 'none'}"
        )


COMMANDS = [server]
