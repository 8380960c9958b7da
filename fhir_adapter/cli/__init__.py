"""Command-line interface: thin commands over the library.

Each command group lives in its own module and is registered here. Library errors
(``FhirAdapterError``) become one-line messages with a documented exit code at this edge.
"""

from __future__ import annotations

import importlib
import logging

import click

from fhir_adapter import __version__
from fhir_adapter.cli._errors import ErrorReportingGroup

# Modules that each define ``command`` (a click command or group) to register on the root.
_COMMAND_MODULES = (
    "init",
    "server",
    "mapping",
    "sync",
    "status",
    "views",
    "pull",
    "ehr",
    "report",
    "auth",
)


@click.group(cls=ErrorReportingGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="fhir-adapter")
@click.option(
    "-v",
    "--verbose",
    count=True,
    help="More log output (-v info, -vv debug); -v also shows the traceback of an internal error.",
)
def main(verbose: int) -> None:
    """Carry clinical-trial site exports into HL7 FHIR R4 and keep them in sync.

    \b
    Typical session:
      fhir-adapter init --data examples/study_a --out mappings/draft.yaml  # then fill its TODOs
      fhir-adapter server start                 # local HAPI FHIR R4 on 127.0.0.1
      fhir-adapter validate --mapping mappings/study_a.yaml --data examples/study_a
      fhir-adapter map --mapping mappings/study_a.yaml --data examples/study_a --out out/a
      fhir-adapter sync --mapping mappings/study_a.yaml --data examples/study_a \\
          --server http://127.0.0.1:8080/fhir
      fhir-adapter verify --mapping mappings/study_a.yaml --data examples/study_a \\
          --server http://127.0.0.1:8080/fhir

    Exit codes are listed in README.md.
    """
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    # httpx logs full request URLs, which can carry identifiers: keep it quiet.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)


for _name in _COMMAND_MODULES:
    try:
        _module = importlib.import_module(f"fhir_adapter.cli.{_name}")
    except ModuleNotFoundError as exc:  # a command module not written yet
        if exc.name != f"fhir_adapter.cli.{_name}":
            raise
        continue
    for _command in getattr(_module, "COMMANDS", ()):
        main.add_command(_command)
