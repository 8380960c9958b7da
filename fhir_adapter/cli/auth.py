"""``fhir-adapter auth``: keys for SMART Backend Services (docs/auth.md)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import click

from fhir_adapter.cli._errors import reports_errors
from fhir_adapter.client import generate_signing_key, private_pem
from fhir_adapter.errors import ConfigError

PRIVATE_KEY_FILE = "private-key.pem"
JWKS_FILE = "jwks.json"


@click.group()
def auth() -> None:
    """Keys for SMART Backend Services (--auth smart); see docs/auth.md.

    \b
      fhir-adapter auth keygen --alg ES384 --out keys/registry
    """


def _write_new(path: Path, data: str, mode: int, force: bool) -> None:
    """Write ``data`` to a new file created with ``mode`` (replacing it only with --force)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | (0 if force else os.O_EXCL)
    if force and path.is_file():
        path.unlink()  # a fresh file gets ``mode``; an old one could be wider
    try:
        fd = os.open(path, flags, mode)
    except FileExistsError:
        raise ConfigError(
            f"{path} already exists; choose another --out folder, or pass "
            "--force to replace the key (register the new JWKS afterwards)"
        ) from None
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        os.fchmod(handle.fileno(), mode)
        handle.write(data)


@auth.command(short_help="Make a signing key and the public JWKS to register.")
@click.option(
    "--alg",
    "algorithm",
    type=click.Choice(["RS384", "ES384"]),
    required=True,
    help="Signing algorithm the server accepts (RS384: RSA 3072; ES384: EC P-384).",
)
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder to write private-key.pem (0600) and jwks.json into.",
)
@click.option("--force", is_flag=True, help="Replace a key already in the folder.")
@reports_errors
def keygen(algorithm: str, out_dir: Path, force: bool) -> None:
    """Write a new private key (PEM, owner-only) and its public JWKS (with kid) to OUT.

    Register jwks.json with the FHIR server (for the local one: 'server start --secure
    --register-client ID=OUT/jwks.json'), then sync with --auth smart --client-id ID
    --private-key-file OUT/private-key.pem. The private key never leaves this machine.
    """
    key = generate_signing_key(algorithm)
    out_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    _write_new(out_dir / PRIVATE_KEY_FILE, private_pem(key).reveal(), 0o600, force)
    _write_new(out_dir / JWKS_FILE, json.dumps(key.public_jwks(), indent=2) + "\n", 0o644, force)
    click.echo(
        f"{algorithm} key {key.key_id}\n"
        f"private key: {out_dir / PRIVATE_KEY_FILE} (owner-only; keep it out of version control)\n"
        f"public JWKS: {out_dir / JWKS_FILE} (register it with the server)"
    )


COMMANDS = [auth]
