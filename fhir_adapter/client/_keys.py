"""Signing keys for SMART Backend Services: load, describe as a JWK, generate.

A client signs its assertions with RS384 (RSA, at least 2048 bits) or ES384 (EC on P-384),
the two algorithms SMART asks servers to support
(https://hl7.org/fhir/smart-app-launch/backend-services.html#registering-a-client-communicating-public-keys).
The algorithm follows from the key. The key id (``kid``) defaults to the key's RFC 7638
thumbprint, so the JWKS ``auth keygen`` writes and the assertions the client signs agree
without a setting. The private key is never shown: ``SigningKey``'s ``repr`` names only the
algorithm and the key id.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from typing import Any, Literal

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from fhir_adapter.client._auth import Secret
from fhir_adapter.errors import ConfigError

Algorithm = Literal["RS384", "ES384"]
ALGORITHMS: tuple[Algorithm, ...] = ("RS384", "ES384")
MIN_RSA_BITS = 2048
RSA_BITS = 3072  # what keygen makes: comfortably past the minimum, still fast to sign

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


def _b64url_uint(value: int) -> str:
    raw = value.to_bytes(max(1, (value.bit_length() + 7) // 8), "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64url_fixed(value: int, size: int) -> str:
    return base64.urlsafe_b64encode(value.to_bytes(size, "big")).rstrip(b"=").decode("ascii")


def public_jwk_members(key: PrivateKey) -> dict[str, str]:
    """The required public members of the key's JWK (RFC 7518 §6), nothing else."""
    if isinstance(key, rsa.RSAPrivateKey):
        numbers = key.public_key().public_numbers()
        return {"kty": "RSA", "n": _b64url_uint(numbers.n), "e": _b64url_uint(numbers.e)}
    point = key.public_key().public_numbers()
    size = (key.curve.key_size + 7) // 8
    return {
        "kty": "EC",
        "crv": "P-384",
        "x": _b64url_fixed(point.x, size),
        "y": _b64url_fixed(point.y, size),
    }


def thumbprint(key: PrivateKey) -> str:
    """RFC 7638 JWK thumbprint (SHA-256, base64url) of the public key."""
    canonical = json.dumps(public_jwk_members(key), sort_keys=True, separators=(",", ":"))
    digest = hashlib.sha256(canonical.encode("utf-8")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _algorithm_for(key: object, where: str) -> Algorithm:
    if isinstance(key, rsa.RSAPrivateKey):
        if key.key_size < MIN_RSA_BITS:
            raise ConfigError(
                f"{where}: the RSA key has {key.key_size} bits; SMART needs at "
                f"least {MIN_RSA_BITS} (make one with 'fhir-adapter auth keygen')"
            )
        return "RS384"
    if isinstance(key, ec.EllipticCurvePrivateKey):
        if not isinstance(key.curve, ec.SECP384R1):
            raise ConfigError(
                f"{where}: the EC key is on {key.curve.name}; ES384 needs P-384 "
                "(secp384r1) (make one with 'fhir-adapter auth keygen --alg ES384')"
            )
        return "ES384"
    raise ConfigError(
        f"{where}: not an RSA or EC private key; SMART Backend Services signs with RS384 or ES384"
    )


@dataclass(frozen=True, repr=False)
class SigningKey:
    """A private key with its algorithm and key id; ``repr`` never shows the key."""

    key: PrivateKey
    algorithm: Algorithm
    key_id: str

    def __repr__(self) -> str:
        return f"SigningKey(algorithm={self.algorithm!r}, key_id={self.key_id!r})"

    def public_jwk(self) -> dict[str, str]:
        """The public JWK to register: key members plus ``kid``, ``alg`` and ``use``."""
        return {
            **public_jwk_members(self.key),
            "kid": self.key_id,
            "alg": self.algorithm,
            "use": "sig",
        }

    def public_jwks(self) -> dict[str, Any]:
        """A JWK Set with the public key alone (RFC 7517 §5)."""
        return {"keys": [self.public_jwk()]}


def load_signing_key(
    pem: Secret, *, where: str, key_id: str | None = None, algorithm: str | None = None
) -> SigningKey:
    """Parse an unencrypted PEM private key (PKCS#8 or traditional) into a ``SigningKey``.

    ``where`` names the file or variable for error messages (never the key). ``algorithm``,
    when given, must match the key. Raises ``ConfigError``.
    """
    try:
        key = serialization.load_pem_private_key(pem.reveal().encode("utf-8"), password=None)
    except TypeError:
        raise ConfigError(
            f"{where}: the private key is encrypted; give an unencrypted PEM "
            "key and protect the file instead (chmod 600)"
        ) from None
    except (ValueError, UnicodeError):
        raise ConfigError(f"{where}: not a PEM private key") from None
    found = _algorithm_for(key, where)
    if algorithm is not None and algorithm != found:
        raise ConfigError(f"{where}: the key is for {found}, not {algorithm}")
    assert isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey)
    return SigningKey(key=key, algorithm=found, key_id=key_id or thumbprint(key))


def generate_signing_key(algorithm: str) -> SigningKey:
    """A new key for ``algorithm`` (RS384: RSA 3072; ES384: EC P-384)."""
    key: PrivateKey
    if algorithm == "RS384":
        key = rsa.generate_private_key(public_exponent=65537, key_size=RSA_BITS)
    elif algorithm == "ES384":
        key = ec.generate_private_key(ec.SECP384R1())
    else:
        raise ConfigError(f"unknown algorithm {algorithm!r}: use RS384 or ES384")
    return SigningKey(key=key, algorithm=_algorithm_for(key, "keygen"), key_id=thumbprint(key))


def private_pem(key: SigningKey) -> Secret:
    """The key as unencrypted PKCS#8 PEM, held in a ``Secret``."""
    data = key.key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return Secret(data.decode("ascii"))
