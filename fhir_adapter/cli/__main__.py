"""``python -m fhir_adapter.cli``: the same as the ``fhir-adapter`` command."""

from fhir_adapter.cli import main

main()
