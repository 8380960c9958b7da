"""Errors of the registry-profile stage.

FhirAdapterError
└── ConfigError
    └── ProfileError     a profile folder or file is unusable, or a required profile
                         is not on the server
"""

from __future__ import annotations

from fhir_adapter.errors import ConfigError


class ProfileError(ConfigError):
    """A profile folder, one of its files or a required profile URL cannot be used; the
    message names the file or URL and what to do."""
