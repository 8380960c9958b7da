"""`--profile-dir DIR` and `--require-profile URL` for validate --server and sync: a
registry's profiles loaded into the server's validation support and required of the
resources (docs/profiles.md)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from fhir_adapter.cli._progress import stderr
from fhir_adapter.client import FhirClient
from fhir_adapter.profiles import (
    RequiredProfiles,
    load_profiles,
    read_profile_dir,
    resolve_profiles,
)


def profile_options(func: Callable[..., Any]) -> Any:
    func = click.option(
        "--require-profile",
        "required_profiles",
        metavar="URL",
        multiple=True,
        help="Canonical URL of a profile (StructureDefinition) every resource of its type "
        "must conform to, checked with the server's $validate; repeatable. The server must "
        "hold it (see --profile-dir).",
    )(func)
    return click.option(
        "--profile-dir",
        type=click.Path(exists=True, file_okay=False, path_type=Path),
        help="Folder of a registry's StructureDefinition JSON files, or an unpacked IG "
        "package (package/package.json): its profiles, value sets and code systems are "
        "stored on the server (PUT, needs write access) before anything is checked.",
    )(func)


def prepare_profiles(
    client: FhirClient, profile_dir: Path | None, urls: tuple[str, ...], *, quiet: bool
) -> RequiredProfiles:
    """Load ``profile_dir`` into the server (if given) and find the required profiles there.

    Raises ``ProfileError`` for an unusable folder or a profile the server does not hold."""
    folder = read_profile_dir(profile_dir) if profile_dir else None
    if folder is not None:
        loaded = load_profiles(client, folder)
        if not quiet:
            skipped = f" ({folder.skipped} other resources left out)" if folder.skipped else ""
            stderr.print(
                f"loaded {loaded} conformance resources from {profile_dir} into the "
                f"server{skipped}",
                highlight=False,
            )
    return resolve_profiles(client, urls, folder.resources if folder else ())
