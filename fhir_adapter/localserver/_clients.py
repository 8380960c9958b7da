"""SMART clients of the secure local server: one owner-only JSON file per port.

``server start --secure`` runs the server with an authorization server that knows the clients
in ``<state>/<port>/clients.json``; the server reads the file again whenever it changes, so
registering or revoking a client on a running server needs no restart (a revoked client gets
no new token, and the tokens it holds stop working at once). Only public keys are stored; the
file is 0600 in a 0700 folder, and its owner is the only one who can change who may connect.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fhir_adapter._private import private_opener
from fhir_adapter.errors import ConfigError
from fhir_adapter.localserver._state import private_port_dir

CLIENTS_FILE = "clients.json"
DEFAULT_SCOPES = ("system/*.rs", "system/*.cu", "system/*.d")
_CLIENT_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_SCOPE = re.compile(r"^system/(\*|[A-Z][A-Za-z]{1,63})\.(read|write|\*|(?=[cruds])c?r?u?d?s?)$")
_PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}


@dataclass(frozen=True)
class ClientRegistration:
    """A client the secure local server accepts: id, public JWKS and the scopes it may get."""

    client_id: str
    jwks: dict[str, Any] = field(repr=False)
    scopes: tuple[str, ...] = DEFAULT_SCOPES

    def to_dict(self) -> dict[str, Any]:
        return {"client_id": self.client_id, "scopes": list(self.scopes), "jwks": self.jwks}


def _check_jwks(jwks: object, where: str) -> dict[str, Any]:
    keys = jwks.get("keys") if isinstance(jwks, dict) else None
    if not isinstance(keys, list) or not keys:
        raise ConfigError(f'{where}: not a JWK Set ({{"keys": [...]}}) with at least one key')
    for key in keys:
        if not isinstance(key, dict) or key.get("kty") not in ("RSA", "EC"):
            raise ConfigError(f"{where}: every key must be an RSA or EC JWK")
        if _PRIVATE_MEMBERS & set(key):
            raise ConfigError(
                f"{where}: the JWKS holds a private key; register the public "
                "jwks.json that 'fhir-adapter auth keygen' wrote, never the key"
            )
        if not isinstance(key.get("kid"), str) or not key["kid"]:
            raise ConfigError(f"{where}: every key needs a kid (auth keygen writes one)")
    return {"keys": keys}


def _check_scopes(words: Iterable[str], where: str) -> tuple[str, ...]:
    scopes = tuple(dict.fromkeys(words))
    bad = [s for s in scopes if not _SCOPE.match(s)]
    if bad or not scopes:
        raise ConfigError(
            f"{where}: scopes must be SMART system scopes such as system/*.rs "
            f"or system/Observation.cu (got {' '.join(bad) or 'none'})"
        )
    return scopes


def parse_registration(text: str) -> ClientRegistration:
    """``ID=JWKS_FILE[:SCOPES]`` (scopes space-separated; default: read, create/update,
    delete on every type) into a registration; the JWKS file is read and checked now."""
    client_id, sep, rest = text.partition("=")
    if not sep or not rest or not _CLIENT_ID.match(client_id):
        raise ConfigError(
            f"--register-client {text!r}: write ID=JWKS_FILE[:SCOPES], the id "
            "of letters, digits, '.', '_' or '-' (e.g. sync=keys/jwks.json)"
        )
    path = rest
    scopes: tuple[str, ...] = DEFAULT_SCOPES
    head, colon, tail = rest.rpartition(":")
    if colon and tail.split() and all(_SCOPE.match(w) for w in tail.split()):
        path, scopes = head, _check_scopes(tail.split(), f"client {client_id}")
    try:
        jwks = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as error:
        raise ConfigError(f"cannot read the JWKS file {path}: {error.strerror}") from None
    except ValueError:
        raise ConfigError(f"the JWKS file {path} is not JSON") from None
    return ClientRegistration(client_id, _check_jwks(jwks, f"JWKS file {path}"), scopes)


def clients_path(state_dir: Path, port: int) -> Path:
    return private_port_dir(state_dir, port) / CLIENTS_FILE


def read_clients(state_dir: Path, port: int) -> list[ClientRegistration]:
    """The clients registered for the server on ``port`` ([] when none)."""
    path = clients_path(state_dir, port)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return []
    except (OSError, ValueError):
        raise ConfigError(
            f"the clients file {path} is unreadable; delete it and register the clients again"
        ) from None
    return [
        ClientRegistration(c["client_id"], c["jwks"], tuple(c["scopes"]))
        for c in data.get("clients", [])
    ]


def write_clients(state_dir: Path, port: int, clients: Iterable[ClientRegistration]) -> Path:
    """Replace the clients of ``port`` atomically (the server sees the whole file or none)."""
    path = clients_path(state_dir, port)
    partial = path.with_suffix(".partial")
    with open(partial, "w", opener=private_opener) as handle:
        json.dump({"clients": [c.to_dict() for c in clients]}, handle, indent=2)
    os.replace(partial, path)
    return path


def register_client(state_dir: Path, port: int, client: ClientRegistration) -> None:
    """Add ``client`` (replacing one of the same id) to the server on ``port``."""
    others = [c for c in read_clients(state_dir, port) if c.client_id != client.client_id]
    write_clients(state_dir, port, [*others, client])


def revoke_client(state_dir: Path, port: int, client_id: str) -> bool:
    """Remove ``client_id``; True if it was registered."""
    clients = read_clients(state_dir, port)
    kept = [c for c in clients if c.client_id != client_id]
    if len(kept) == len(clients):
        return False
    write_clients(state_dir, port, kept)
    return True
