"""Tokens and client assertions for the end-to-end tests, made the way a third party makes them:
with PyJWT (and `cryptography` for the keys), never with gatepass itself.

- `access_token(...)`: an RFC 9068 access token (`typ: at+jwt`) signed with the demo Ed25519 key
  of envoy/demo-keys (or any key given), with the claims the shipped configs expect.
- `client_assertion(...)`: an RFC 7523 client assertion for `private_key_jwt` (default: client
  `worker`, its ES256 key in envoy/demo-keys, `aud` = issuer, `typ: client-authentication+jwt`).
- `new_key(alg)`: a fresh key pair and its public JWK, for remote-JWKS and interop tests.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from typing import Any, Mapping

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

import harness

DEMO_KEYS = harness.ROOT / "envoy" / "demo-keys"


def _jwk_file(name: str) -> dict[str, Any]:
    return json.loads((DEMO_KEYS / name).read_text())


DEMO_PRIVATE_JWK = _jwk_file("private.jwk.json")  # Ed25519, kid demo-2026: signs access tokens
DEMO_PUBLIC_JWKS = _jwk_file("public.jwks.json")
WORKER_PRIVATE_JWK = _jwk_file("worker.private.jwk.json")  # P-256, kid worker-2026: client `worker`
WORKER_PUBLIC_JWKS = _jwk_file("worker.public.jwks.json")

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def private_key(jwk: Mapping[str, Any]) -> Any:
    """The `cryptography` private key object of a private JWK (through PyJWT's PyJWK)."""
    return jwt.PyJWK(dict(jwk)).key


DEMO_KEY = private_key(DEMO_PRIVATE_JWK)
WORKER_KEY = private_key(WORKER_PRIVATE_JWK)


def b64url_decode(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def decode_unverified(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(header, payload) of a compact JWS, without checking anything."""
    h, p, _ = token.split(".")
    return json.loads(b64url_decode(h)), json.loads(b64url_decode(p))


def access_claims(**overrides: Any) -> dict[str, Any]:
    """Claims of a valid access token for the shipped provider (`None` drops a claim)."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": harness.ISSUER,
        "sub": "billing",
        "aud": harness.AUDIENCE,
        "exp": now + 600,
        "iat": now,
        "jti": secrets.token_urlsafe(12),  # every token is distinct: no accidental cache hits
        "client_id": "billing",
        "scope": "orders:read",
    }
    for k, v in overrides.items():
        if v is None:
            claims.pop(k, None)
        else:
            claims[k] = v
    return claims


def sign(
    claims: Mapping[str, Any],
    *,
    key: Any = None,
    alg: str = "EdDSA",
    kid: str | None = "demo-2026",
    typ: str | None = "at+jwt",
    extra_headers: Mapping[str, Any] | None = None,
) -> str:
    """A compact JWS made by PyJWT. `typ=None` leaves `typ` out; `kid=None` too."""
    headers: dict[str, Any] = {"typ": typ or ""}
    if kid is not None:
        headers["kid"] = kid
    headers.update(extra_headers or {})
    return jwt.encode(dict(claims), DEMO_KEY if key is None else key, algorithm=alg, headers=headers)


def access_token(*, key: Any = None, alg: str = "EdDSA", kid: str | None = "demo-2026", typ: str | None = "at+jwt", **claims: Any) -> str:
    """A valid access token for the shipped provider, with claim overrides."""
    return sign(access_claims(**claims), key=key, alg=alg, kid=kid, typ=typ)


def client_assertion(
    *,
    client_id: str = "worker",
    key: Any = None,
    alg: str = "ES256",
    kid: str | None = "worker-2026",
    aud: Any = harness.ISSUER,
    typ: str | None = "client-authentication+jwt",
    lifetime: int = 60,
    **claims: Any,
) -> str:
    """An RFC 7523 client assertion (draft-ietf-oauth-rfc7523bis form by default), fresh `jti`."""
    now = int(time.time())
    body: dict[str, Any] = {
        "iss": client_id,
        "sub": client_id,
        "aud": aud,
        "iat": now,
        "exp": now + lifetime,
        "jti": secrets.token_urlsafe(18),
    }
    for k, v in claims.items():  # None drops a claim
        if v is None:
            body.pop(k, None)
        else:
            body[k] = v
    return sign(body, key=WORKER_KEY if key is None else key, alg=alg, kid=kid, typ=typ)


def assertion_form(assertion: str, **params: str) -> str:
    from urllib.parse import urlencode

    return urlencode(
        {
            "grant_type": "client_credentials",
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": assertion,
            **params,
        }
    )


def secret_hash(secret: str) -> str:
    """The stored form of a client secret: `sha256:` + base64url(SHA-256), no padding."""
    return "sha256:" + base64.urlsafe_b64encode(hashlib.sha256(secret.encode()).digest()).rstrip(b"=").decode()


def new_key(alg: str = "EdDSA", kid: str | None = None) -> tuple[Any, dict[str, Any]]:
    """(private key, public JWK with `kid`, `alg`, `use`) for EdDSA, ES256, RS256 or PS256."""
    if alg == "EdDSA":
        key: Any = ed25519.Ed25519PrivateKey.generate()
        public = OKPAlgorithm.to_jwk(key.public_key(), as_dict=True)
    elif alg == "ES256":
        key = ec.generate_private_key(ec.SECP256R1())
        public = ECAlgorithm.to_jwk(key.public_key(), as_dict=True)
    elif alg in ("RS256", "PS256"):
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        public = RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
    else:
        raise ValueError(alg)
    public = dict(public)
    public["kid"] = kid or f"{alg.lower()}-{secrets.token_hex(4)}"
    public["alg"] = alg
    public["use"] = "sig"
    return key, public


def jwks(*public_jwks: Mapping[str, Any]) -> dict[str, Any]:
    return {"keys": [dict(k) for k in public_jwks]}
