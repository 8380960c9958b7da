"""Credentials for the FHIR server: none, HTTP Basic, a bearer token or SMART Backend Services.

Secrets come only from an environment variable or a file whose *names* the CLI resolved; this
module reads neither ``os.environ`` nor any default location. A secret is held in ``Secret``,
whose ``repr`` and ``str`` never show it, so it cannot leak into logs, reprs or error text.
"""

from __future__ import annotations

import base64
from collections.abc import Generator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Union

import httpx

from fhir_adapter.errors import ConfigError

if TYPE_CHECKING:
    from fhir_adapter.client._smart import SmartBackendAuth

AuthKind = Literal["none", "basic", "bearer", "smart"]


class Secret:
    """A string that does not print itself; call ``reveal()`` where it is really needed."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __reduce__(self) -> tuple[object, ...]:  # keep secrets out of pickles too
        raise TypeError("a Secret cannot be pickled")


class NoAuth(httpx.Auth):
    """Send no credentials."""

    kind: AuthKind = "none"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        yield request

    def __repr__(self) -> str:
        return "NoAuth()"


class BasicAuth(httpx.Auth):
    """HTTP Basic credentials (RFC 7617); the password never appears in ``repr``."""

    kind: AuthKind = "basic"

    def __init__(self, username: str, password: Secret) -> None:
        self.username = username
        token = base64.b64encode(f"{username}:{password.reveal()}".encode()).decode("ascii")
        self._header = Secret(f"Basic {token}")

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = self._header.reveal()
        yield request

    def __repr__(self) -> str:
        return f"BasicAuth(username={self.username!r}, password=********)"


class BearerAuth(httpx.Auth):
    """An OAuth2/SMART bearer token (RFC 6750) fetched elsewhere; never in ``repr``."""

    kind: AuthKind = "bearer"

    def __init__(self, token: Secret) -> None:
        self._header = Secret(f"Bearer {token.reveal()}")

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = self._header.reveal()
        yield request

    def __repr__(self) -> str:
        return "BearerAuth(token=********)"


# SmartBackendAuth (in _smart, which needs Secret from here) is named as a forward reference.
Auth = Union[NoAuth, BasicAuth, BearerAuth, "SmartBackendAuth"]  # noqa: UP007


def _secret(
    what: str, env: str | None, file: str | Path | None, environ: Mapping[str, str]
) -> Secret:
    if (env is None) == (file is None):
        raise ConfigError(
            f"give the {what} either as an environment variable name or as a "
            "file path (exactly one)"
        )
    if env is not None:
        value = environ.get(env)
        if not value:
            raise ConfigError(f"environment variable {env} (the {what}) is not set or empty")
        return Secret(value)
    assert file is not None
    path = Path(file)
    try:
        value = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"the {what} file {path} is not UTF-8 text") from None
    except OSError as error:
        raise ConfigError(f"cannot read the {what} file {path}: {error.strerror}") from None
    if not value.strip():
        raise ConfigError(f"the {what} file {path} is empty")
    return Secret(value.strip())


def auth_from_settings(
    kind: str,
    *,
    username: str | None = None,
    password_env: str | None = None,
    password_file: str | Path | None = None,
    token_env: str | None = None,
    token_file: str | Path | None = None,
    base_url: str | None = None,
    client_id: str | None = None,
    private_key_env: str | None = None,
    private_key_file: str | Path | None = None,
    scopes: str | Sequence[str] = (),
    key_id: str | None = None,
    token_url: str | None = None,
    environ: Mapping[str, str],
) -> Auth:
    """Build the credentials the CLI configured; ``environ`` is the environment to read.

    ``kind`` is ``"none"``, ``"basic"`` (``username`` plus a password from ``password_env``
    or ``password_file``), ``"bearer"`` (a token from ``token_env`` or ``token_file``) or
    ``"smart"`` (SMART Backend Services for the FHIR server at ``base_url``: ``client_id``,
    a PEM private key from ``private_key_env`` or ``private_key_file``, ``scopes``, and
    optionally the registered ``key_id`` and a ``token_url`` that skips discovery).
    A file's surrounding whitespace (the trailing newline) is stripped. Raises ``ConfigError``
    naming the variable or file, never the value.
    """
    if kind == "none":
        return NoAuth()
    if kind == "basic":
        if not username:
            raise ConfigError("basic auth needs a username")
        return BasicAuth(username, _secret("password", password_env, password_file, environ))
    if kind == "bearer":
        return BearerAuth(_secret("bearer token", token_env, token_file, environ))
    if kind == "smart":
        from fhir_adapter.client._keys import load_signing_key
        from fhir_adapter.client._smart import SmartBackendAuth

        if not client_id:
            raise ConfigError("--auth smart needs --client-id (the id the server registered)")
        if base_url is None:
            raise ConfigError("--auth smart needs the FHIR base URL (--server)")
        pem = _secret("private key", private_key_env, private_key_file, environ)
        where = (
            f"environment variable {private_key_env}"
            if private_key_env
            else f"private key file {private_key_file}"
        )
        key = load_signing_key(pem, where=where, key_id=key_id)
        return SmartBackendAuth(
            base_url=base_url, client_id=client_id, key=key, scopes=scopes, token_url=token_url
        )
    raise ConfigError(f"unknown auth kind {kind!r}: use none, basic, bearer or smart")
