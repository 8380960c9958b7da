"""Start, inspect and stop the local HAPI server: the public face of this package."""

from __future__ import annotations

import contextlib
import os
import socket
import time
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import httpx

from fhir_adapter._private import private_opener
from fhir_adapter.errors import LocalServerError
from fhir_adapter.localserver._build import ensure_jar
from fhir_adapter.localserver._clients import (
    ClientRegistration,
    clients_path,
    read_clients,
    write_clients,
)
from fhir_adapter.localserver._logtail import tail
from fhir_adapter.localserver._paths import default_state_dir
from fhir_adapter.localserver._probe import (
    capability_statement,
    software_version,
    wait_until_ready,
)
from fhir_adapter.localserver._process import (
    DEFAULT_JAVA_OPTIONS,
    java_command,
    spawn,
    terminate,
)
from fhir_adapter.localserver._redact import redact_jdbc_url
from fhir_adapter.localserver._state import (
    LOG_FILE,
    ServerRecord,
    is_our_process,
    private_port_dir,
    proc_start_ticks,
    read_record,
    remove_record,
    write_record,
)
from fhir_adapter.localserver._tools import find_java

DEFAULT_PORT = 8080
DEFAULT_TIMEOUT = 240.0  # seconds; HAPI starts in 30-90 s on two cores
IN_MEMORY_DB = "jdbc:h2:mem:hapi;DB_CLOSE_DELAY=-1"
Progress = Callable[[str], None]


@dataclass(frozen=True)
class ServerStatus:
    """A running server we manage, as ``server status`` reports it."""

    url: str
    port: int
    pid: int
    hapi_version: str | None  # None if the server did not answer the version probe
    uptime_seconds: float
    log_path: Path
    database: str  # JDBC URL without credentials
    secure: bool = False  # /fhir needs SMART Backend Services access tokens
    clients: tuple[str, ...] = ()  # ids of the registered SMART clients (secure only)

    @property
    def token_url(self) -> str | None:
        """The token endpoint of a secure server (None for an open one)."""
        return f"http://127.0.0.1:{self.port}/oauth2/token" if self.secure else None

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form (paths as strings)."""
        return {
            "url": self.url,
            "port": self.port,
            "pid": self.pid,
            "hapi_version": self.hapi_version,
            "uptime_seconds": round(self.uptime_seconds, 1),
            "log_path": str(self.log_path),
            "database": self.database,
            "secure": self.secure,
            "token_url": self.token_url,
            "clients": list(self.clients),
        }


def _stop_if_ours(record: ServerRecord, state_dir: Path, grace_seconds: float) -> bool:
    if not is_our_process(record):
        remove_record(state_dir, record.port)
        return False
    terminate(record.pid, grace_seconds=grace_seconds)
    remove_record(state_dir, record.port)
    return True


class LocalServer:
    """Handle on a server started by :func:`start_server`.

    An *attached* server (``detach=False``) is stopped when the handle is stopped, used as a
    context manager, garbage-collected or the interpreter exits, and by the kernel if the
    Python process dies; a *detached* one runs until :func:`stop_server`.
    """

    def __init__(
        self, record: ServerRecord, state_dir: Path, *, attached: bool, hapi_version: str | None
    ):
        self.record = record
        self.state_dir = state_dir
        self.hapi_version = hapi_version
        self._finalizer = (
            weakref.finalize(self, _stop_if_ours, record, state_dir, 10.0) if attached else None
        )

    @property
    def url(self) -> str:
        """FHIR base URL, e.g. ``http://127.0.0.1:8080/fhir``."""
        return self.record.url

    @property
    def port(self) -> int:
        return self.record.port

    @property
    def pid(self) -> int:
        return self.record.pid

    @property
    def log_path(self) -> Path:
        return Path(self.record.log)

    def stop(self, grace_seconds: float = 20.0) -> bool:
        """Stop this server; True if a process was ended."""
        if self._finalizer is not None:
            self._finalizer.detach()
        return _stop_if_ours(self.record, self.state_dir, grace_seconds)

    def __enter__(self) -> LocalServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"LocalServer(url={self.url!r}, pid={self.pid})"


def _port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(1.0)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def start_server(
    port: int = DEFAULT_PORT,
    *,
    db_url: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    rebuild: bool = False,
    detach: bool = True,
    java_options: Sequence[str] = DEFAULT_JAVA_OPTIONS,
    server_dir: Path | None = None,
    cache_dir: Path | None = None,
    state_dir: Path | None = None,
    extra_env: Mapping[str, str] | None = None,
    progress: Progress | None = None,
    secure: bool = False,
    clients: Sequence[ClientRegistration] = (),
) -> LocalServer:
    """Build (if needed) and start the HAPI server on 127.0.0.1:``port``; return once ready.

    ``db_url`` is a JDBC URL (default: in-memory H2, empty at every start). Credentials for
    it are best passed in ``extra_env`` as SPRING_DATASOURCE_USERNAME/PASSWORD. ``secure``
    runs the same jar with an OAuth 2.0 authorization server for SMART Backend Services and
    ``/fhir`` protected by its access tokens and scopes (``/fhir/metadata`` and
    ``/fhir/.well-known/smart-configuration`` stay open); ``clients`` replace the clients
    registered for this port (see ``register_client``/``revoke_client``). Raises
    LocalServerError if Java/Maven are missing, the port is taken, or the server does not
    become ready within ``timeout`` seconds (the process is then stopped).
    """
    if clients and not secure:
        raise LocalServerError("clients can only be registered with a secure server")
    state_dir = state_dir or default_state_dir()
    # Owner-only from here on, also folders left world-readable by older versions.
    log_path = private_port_dir(state_dir, port) / LOG_FILE
    existing = read_record(state_dir, port)
    if existing is not None:
        if is_our_process(existing):
            raise LocalServerError(
                f"a fhir-adapter HAPI server already runs on port {port} (pid {existing.pid}); "
                f"stop it with 'fhir-adapter server stop --port {port}' or choose another port"
            )
        remove_record(state_dir, port)
    if _port_in_use(port):
        raise LocalServerError(
            f"port {port} on 127.0.0.1 is already in use by another program; "
            "choose another port (--port, or FHIR_ADAPTER_SERVER_PORT for the demo and the CLI)"
        )
    java = find_java()
    jar = ensure_jar(server_dir=server_dir, cache_dir=cache_dir, rebuild=rebuild, progress=progress)

    database = db_url or IN_MEMORY_DB
    with open(log_path, "w", opener=private_opener):  # one log per run, 0600: it logs URLs
        pass
    # The JDBC URL goes through the environment, not argv, so `ps` never shows credentials.
    env = {**os.environ, **(extra_env or {}), "SPRING_DATASOURCE_URL": database}
    if progress:
        progress(f"Starting HAPI FHIR on port {port} (usually 30-90 s)")
    app_args: list[str] = []
    if secure:
        registry = (
            write_clients(state_dir, port, clients) if clients else (clients_path(state_dir, port))
        )
        if not registry.exists():
            write_clients(state_dir, port, [])
        app_args = [
            "--spring.profiles.active=secure",
            f"--fhiradapter.secure.clients-file={registry}",
        ]
    process = spawn(
        java_command(java, jar, port, java_options, app_args),
        log_path=log_path,
        env=env,
        detach=detach,
    )
    record = ServerRecord(
        pid=process.pid,
        port=port,
        url=f"http://127.0.0.1:{port}/fhir",
        jar=str(jar),
        log=str(log_path),
        started_at=time.time(),
        proc_start_ticks=proc_start_ticks(process.pid),
        database=redact_jdbc_url(database),
        secure=secure,
    )
    write_record(state_dir, record)
    server = LocalServer(record, state_dir, attached=not detach, hapi_version=None)

    def describe(reason: str) -> str:
        return f"{reason}; log: {log_path}\n{tail(log_path)}"

    try:
        statement = wait_until_ready(
            record.url,
            timeout=timeout,
            still_running=lambda: process.poll() is None,
            describe_failure=describe,
        )
    except BaseException:  # includes KeyboardInterrupt: never leave a half-started JVM
        # Short grace: a starting JVM defers SIGTERM until Spring is up; nothing to save yet.
        terminate(process.pid, grace_seconds=2.0)
        remove_record(state_dir, port)
        raise
    server.hapi_version = software_version(statement)
    _warm_up(record.url)
    return server


def _warm_up(base_url: str) -> None:
    """One search so the first real request does not pay for lazy initialisation."""
    with contextlib.suppress(httpx.HTTPError):
        httpx.get(
            f"{base_url}/Patient",
            params={"_count": "1"},
            timeout=60.0,
            headers={"Accept": "application/fhir+json"},
        )


def server_status(
    port: int = DEFAULT_PORT, *, state_dir: Path | None = None
) -> ServerStatus | None:
    """The server fhir-adapter runs on ``port``, or None (stale records are cleaned up)."""
    state_dir = state_dir or default_state_dir()
    record = read_record(state_dir, port)
    if record is None:
        return None
    if not is_our_process(record):
        remove_record(state_dir, port)
        return None
    version = software_version(capability_statement(record.url, timeout=10.0))
    return ServerStatus(
        url=record.url,
        port=record.port,
        pid=record.pid,
        hapi_version=version,
        uptime_seconds=max(0.0, time.time() - record.started_at),
        log_path=Path(record.log),
        database=record.database,
        secure=record.secure,
        clients=tuple(c.client_id for c in read_clients(state_dir, port)) if record.secure else (),
    )


def stop_server(
    port: int = DEFAULT_PORT, *, state_dir: Path | None = None, grace_seconds: float = 20.0
) -> bool:
    """Stop the server fhir-adapter started on ``port``; False if none was running.

    Only a process that is still the recorded ``java -jar`` (same start time) is signalled:
    SIGTERM first, SIGKILL after ``grace_seconds``.
    """
    state_dir = state_dir or default_state_dir()
    record = read_record(state_dir, port)
    if record is None:
        return False
    return _stop_if_ours(record, state_dir, grace_seconds)
