"""The FHIR R4 REST client: HTTP to one FHIR server, and nothing else.

What it does: reads, searches (following the server's paging links), transactions, updates,
conditional updates, deletes, ``$validate`` and asynchronous requests (kick-off, poll,
download: bulk ``$export``) over httpx; auth (none, Basic, bearer);
one retry policy for transient failures of idempotent requests (capped exponential backoff
with full jitter, Retry-After, a total deadline per request); OperationOutcome answers turned
into the ``FhirServerError`` family; a typed summary of the CapabilityStatement.

What it must not do: know anything of mappings, source rows or the sync ledger; build
resources; read ``os.environ`` (secrets arrive through ``auth_from_settings``); follow a
redirect, paging link or Location outside the base URL; log bodies, query strings or
secrets; configure logging (the CLI quiets the ``httpx`` logger, which prints full URLs).
"""

from fhir_adapter.client._auth import (
    Auth,
    BasicAuth,
    BearerAuth,
    NoAuth,
    Secret,
    auth_from_settings,
)
from fhir_adapter.client._capabilities import ServerCapabilities, parse_capabilities
from fhir_adapter.client._client import (
    FHIR_JSON,
    AsyncStatus,
    FhirClient,
    SearchParams,
    Timeouts,
)
from fhir_adapter.client._keys import (
    SigningKey,
    generate_signing_key,
    load_signing_key,
    private_pem,
)
from fhir_adapter.client._outcome import ValidationResult, parse_issues
from fhir_adapter.client._results import WriteResult
from fhir_adapter.client._retry import NO_RETRY, RetryPolicy, parse_retry_after
from fhir_adapter.client._smart import SmartBackendAuth, parse_scopes
from fhir_adapter.client._urls import BaseUrl
from fhir_adapter.errors import (
    AccessDeniedError,
    BadRequestError,
    CertificateError,
    ConflictError,
    FhirServerError,
    NotFoundError,
    OutcomeIssue,
    PreconditionFailedError,
    ResourceGoneError,
    TerminalServerError,
    TransientServerError,
    UnsafeUrlError,
    UnsupportedServerError,
)

__all__ = [
    "FHIR_JSON",
    "NO_RETRY",
    "AccessDeniedError",
    "AsyncStatus",
    "Auth",
    "BadRequestError",
    "BaseUrl",
    "BasicAuth",
    "BearerAuth",
    "CertificateError",
    "ConflictError",
    "FhirClient",
    "FhirServerError",
    "NoAuth",
    "NotFoundError",
    "OutcomeIssue",
    "PreconditionFailedError",
    "ResourceGoneError",
    "RetryPolicy",
    "SearchParams",
    "Secret",
    "ServerCapabilities",
    "SigningKey",
    "SmartBackendAuth",
    "TerminalServerError",
    "Timeouts",
    "TransientServerError",
    "UnsafeUrlError",
    "UnsupportedServerError",
    "ValidationResult",
    "WriteResult",
    "auth_from_settings",
    "generate_signing_key",
    "load_signing_key",
    "parse_capabilities",
    "parse_issues",
    "parse_retry_after",
    "parse_scopes",
    "private_pem",
]
