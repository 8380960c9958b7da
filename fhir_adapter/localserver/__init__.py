"""Run a real HAPI FHIR R4 server on loopback for development and integration tests.

The server is our own small Spring Boot application in ``server/`` (a source checkout),
built with Maven on first use and cached by a hash of its sources. This package builds,
starts, watches and stops that JVM. It must not talk FHIR beyond the readiness probe and
one warm-up search, and must never stop a process it did not start (a pid is only
signalled while it is still the recorded ``java -jar``, same start time).

    ensure_jar()      build (or reuse) the server jar
    start_server()    start a JVM on a port and wait until /fhir/metadata answers
    server_status()   what runs on a port we manage, or None
    stop_server()     stop the JVM we started on a port

With ``secure=True`` the same jar runs as a SMART Backend Services authorization server with
``/fhir`` protected by its tokens; ``register_client``/``revoke_client`` change who may
connect, also while it runs.
"""

from fhir_adapter.localserver._build import ensure_jar, source_hash
from fhir_adapter.localserver._clients import (
    DEFAULT_SCOPES,
    ClientRegistration,
    parse_registration,
    read_clients,
    register_client,
    revoke_client,
)
from fhir_adapter.localserver._control import (
    DEFAULT_PORT,
    DEFAULT_TIMEOUT,
    LocalServer,
    ServerStatus,
    server_status,
    start_server,
    stop_server,
)
from fhir_adapter.localserver._paths import default_cache_dir, default_state_dir, find_server_dir

__all__ = [
    "DEFAULT_PORT",
    "DEFAULT_SCOPES",
    "ClientRegistration",
    "DEFAULT_TIMEOUT",
    "LocalServer",
    "ServerStatus",
    "default_cache_dir",
    "default_state_dir",
    "ensure_jar",
    "parse_registration",
    "read_clients",
    "register_client",
    "revoke_client",
    "find_server_dir",
    "server_status",
    "source_hash",
    "start_server",
    "stop_server",
]
