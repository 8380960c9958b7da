"""`--deidentify PROFILE` and `--deid-key-file FILE` for map and sync (registry push)."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from fhir_adapter.deid import (
    KEY_ENV,
    DeidentifiedStudy,
    Deidentifier,
    catalogue_vocabulary,
    key_from_secret,
    resolve_profile,
)
from fhir_adapter.mapping.loader import MappingFile
from fhir_adapter.pipeline import StudyRun


def deid_options(func: Callable[..., Any]) -> Any:
    func = click.option(
        "--deid-key-file",
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        help=f"File holding the per-registry de-identification key (at least 32 bytes; "
        f"else ${KEY_ENV}). Never in a mapping file.",
    )(func)
    return click.option(
        "--deidentify",
        "deid_profile",
        metavar="PROFILE",
        help="De-identify every resource before it is written or sent: 'safe-harbor' "
        "(years only), 'registry-dates-shifted', or a profile file "
        "(docs/deidentification.md). Keyed pseudonyms keep re-syncs idempotent.",
    )(func)


def study_run(
    loaded: MappingFile,
    data_dir: Path,
    deid_profile: str | None,
    deid_key_file: Path | None,
    **options: Any,
) -> StudyRun:
    """The study run, de-identified when ``--deidentify`` was given (key from the file,
    else the environment; resolved here, at the edge)."""
    if deid_profile is None:
        if deid_key_file is not None:
            raise click.UsageError("--deid-key-file needs --deidentify PROFILE")
        return StudyRun(loaded, data_dir, **options)
    if deid_key_file is not None:
        secret: bytes | None = deid_key_file.read_bytes()
    else:
        from_env = os.environ.get(KEY_ENV)
        secret = from_env.encode() if from_env else None
    if secret is None:
        raise click.UsageError(f"--deidentify needs a key: --deid-key-file FILE or ${KEY_ENV}")
    deidentifier = Deidentifier(
        resolve_profile(deid_profile),
        key_from_secret(secret),
        vocabulary=catalogue_vocabulary(loaded.spec),
        as_of=dt.date.today(),
    )
    return DeidentifiedStudy(loaded, data_dir, deidentifier, **options)
