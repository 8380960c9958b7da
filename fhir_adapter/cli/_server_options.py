"""Options shared by every command that talks to a FHIR server (auth, timeouts).

Secrets are named here, never given: ``--password-env``/``--token-env``/``--private-key-env``
name environment variables, the ``-file`` options name files; the library reads what
``os.environ`` holds only through the mapping passed to ``auth_from_settings``.
"""

from __future__ import annotations

import os
import ssl
from collections.abc import Callable
from typing import Any

import click

from fhir_adapter.client import FhirClient, Timeouts, auth_from_settings
from fhir_adapter.errors import ConfigError


def server_options(func: Callable[..., Any] | None = None, *, required: bool = True) -> Any:
    """The --server, auth, timeout and concurrency options (``required=False`` for commands
    where a server is optional)."""
    if func is None:
        return lambda f: server_options(f, required=required)
    options = [
        click.option(
            "--server",
            "server_url",
            required=required,
            metavar="URL",
            help="FHIR R4 base URL, e.g. http://127.0.0.1:8080/fhir.",
        ),
        click.option(
            "--auth",
            type=click.Choice(["none", "basic", "bearer", "smart"]),
            default="none",
            show_default=True,
            help="Authentication scheme; smart = SMART Backend Services (a signed JWT "
            "assertion for an access token, docs/auth.md).",
        ),
        click.option("--username", help="User name for --auth basic."),
        click.option(
            "--password-env",
            metavar="VAR",
            help="Environment variable holding the basic-auth password.",
        ),
        click.option(
            "--password-file",
            type=click.Path(dir_okay=False),
            help="File holding the basic-auth password.",
        ),
        click.option(
            "--token-env", metavar="VAR", help="Environment variable holding the bearer token."
        ),
        click.option(
            "--token-file", type=click.Path(dir_okay=False), help="File holding the bearer token."
        ),
        click.option(
            "--client-id", metavar="ID", help="Client id the server registered, for --auth smart."
        ),
        click.option(
            "--private-key-file",
            type=click.Path(dir_okay=False),
            help="PEM private key (RS384 or ES384) that signs the assertion, for --auth smart.",
        ),
        click.option(
            "--private-key-env",
            metavar="VAR",
            help="Environment variable holding the PEM private key, for --auth smart.",
        ),
        click.option(
            "--scope",
            "scopes",
            multiple=True,
            metavar="SCOPES",
            help="Scopes to request, space-separated or repeated, for --auth smart, "
            "e.g. 'system/*.rs system/*.cu' (SMART v1 system/*.read also works).",
        ),
        click.option(
            "--key-id",
            metavar="KID",
            help="Key id registered for the key (default: its RFC 7638 thumbprint, "
            "as 'auth keygen' writes it).",
        ),
        click.option(
            "--token-url",
            metavar="URL",
            help="Token endpoint, for a server without .well-known/smart-configuration.",
        ),
        click.option(
            "--ca-bundle",
            type=click.Path(exists=True, dir_okay=False),
            help="PEM file of the certificate authorities to trust for an https "
            "server (e.g. a hospital's own CA); default: the system's.",
        ),
        click.option(
            "--timeout",
            type=float,
            default=120.0,
            show_default=True,
            help="Seconds allowed per request, retries included.",
        ),
        click.option(
            "--concurrency",
            type=click.IntRange(1, 32),
            default=4,
            show_default=True,
            help="Requests in flight at once.",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _check_auth_options(auth: str, given: dict[str, object]) -> None:
    """Refuse options of another auth scheme, so a forgotten --auth smart is not silent."""
    wrong = [f"--{name.replace('_', '-')}" for name, value in given.items() if value]
    if auth != "smart" and wrong:
        raise click.UsageError(f"{', '.join(wrong)} only apply with --auth smart")


def make_client(
    server_url: str,
    auth: str,
    username: str | None,
    password_env: str | None,
    password_file: str | None,
    token_env: str | None,
    token_file: str | None,
    ca_bundle: str | None,
    timeout: float,
    concurrency: int,
    client_id: str | None = None,
    private_key_file: str | None = None,
    private_key_env: str | None = None,
    scopes: tuple[str, ...] = (),
    key_id: str | None = None,
    token_url: str | None = None,
) -> FhirClient:
    _check_auth_options(
        auth,
        {
            "client_id": client_id,
            "private_key_file": private_key_file,
            "private_key_env": private_key_env,
            "scope": scopes,
            "key_id": key_id,
            "token_url": token_url,
        },
    )
    try:
        credentials = auth_from_settings(
            auth,
            username=username,
            password_env=password_env,
            password_file=password_file,
            token_env=token_env,
            token_file=token_file,
            base_url=server_url,
            client_id=client_id,
            private_key_env=private_key_env,
            private_key_file=private_key_file,
            scopes=scopes,
            key_id=key_id,
            token_url=token_url,
            environ=os.environ,
        )
    except ValueError as error:  # the base URL, parsed by the SMART flow for discovery
        raise click.BadParameter(
            f"{error} (for example http://127.0.0.1:8080/fhir)", param_hint="'--server'"
        ) from None
    verify: ssl.SSLContext | bool = True
    if ca_bundle:
        try:
            verify = ssl.create_default_context(cafile=ca_bundle)
        except (ssl.SSLError, OSError) as error:
            raise ConfigError(
                f"--ca-bundle {ca_bundle}: not a readable PEM file of "
                f"certificates ({type(error).__name__})"
            ) from None
    try:
        return FhirClient(
            server_url,
            auth=credentials,
            deadline=timeout,
            max_concurrency=concurrency,
            verify=verify,
            timeouts=Timeouts(read=min(timeout, 120.0)),
            trust_env=True,
        )
    except ValueError as error:
        raise click.BadParameter(
            f"{error} (for example http://127.0.0.1:8080/fhir)", param_hint="'--server'"
        ) from None


SERVER_KEYS = (
    "server_url",
    "auth",
    "username",
    "password_env",
    "password_file",
    "token_env",
    "token_file",
    "ca_bundle",
    "timeout",
    "concurrency",
    "client_id",
    "private_key_file",
    "private_key_env",
    "scopes",
    "key_id",
    "token_url",
)


def pop_server_settings(kwargs: dict[str, Any]) -> dict[str, Any]:
    return {key: kwargs.pop(key) for key in SERVER_KEYS}
