"""fhir-adapter: clinical-trial site exports to HL7 FHIR R4, kept in sync with FHIR servers.

Stages, each in its own subpackage, dependencies pointing one way:
``cli`` → ``sync`` → ``mapping`` / ``client`` → ``fhir`` → ``errors``.
"""

__version__ = "0.1.0"
