"""Client-assertion vectors: token requests (RFC 7523 / OIDC Core §9 client authentication) and
the answer every gatepass token endpoint must give, in order, from one server.

An assertion lives at most an hour (3600 s by default, DESIGN.md, RFC 7523 §3 "exp"), so it
cannot be fixed bytes that hold under a real clock the way the access-token vectors do. `requests(now)` makes the
same cases for any `now` — same keys, claims relative to `now`, same verdicts:

* generate.py writes them for NOW (2030-03-17) into assertions.json, which the core
  (core/tests/cross_shell.rs) and the npm package (node-binding/test/cross-shell.test.js) replay
  with their clock set to NOW;
* the Envoy test (tests/envoy/test_cross_shell.py) calls `requests(time.time())`, since Envoy's
  clock cannot be set, and checks the same verdicts.

Cases are answered in order by one server with one replay store: "replayed assertion" repeats
the first case's request byte for byte. Keys are fixed test material.
"""

from __future__ import annotations

import base64
import json
from urllib.parse import urlencode

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

ISSUER = "https://auth.gatepass.test"
AUD = "https://orders.gatepass.test"
TOKEN_PATH = "/oauth/token"
INTROSPECTION_PATH = "/oauth/introspect"
AUD2 = "https://billing.gatepass.test"
NOW = 1_900_000_000
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
HMAC_SECRET = "cross-shell-hmac-secret-0123456789abcdefghijklmnopqrstuvwxyzABCDEF"

signing_key = ed25519.Ed25519PrivateKey.from_private_bytes(bytes(range(100, 132)))
worker_key = ec.derive_private_key(0xC0FFEE0123456789ABCDEF0123456789, ec.SECP256R1())
intruder_key = ec.derive_private_key(0xBAD0BAD0BAD0BAD0BAD0BAD0BAD0BAD0, ec.SECP256R1())
other_client_key = ec.derive_private_key(0x0DDBA11C0FFEE0DDBA11C0FFEE0DDBA1, ec.SECP256R1())
p384_key = ec.derive_private_key(0x384384384384384384384384384384384, ec.SECP384R1())
retired_key = ec.derive_private_key(0x7E71BED7E71BED7E71BED7E71BED7E71, ec.SECP256R1())


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _ec_public_jwk(key, kid: str, alg: str, crv: str, size: int) -> dict:
    nums = key.public_key().public_numbers()
    return {"kty": "EC", "crv": crv, "x": b64(nums.x.to_bytes(size, "big")), "y": b64(nums.y.to_bytes(size, "big")),
            "kid": kid, "alg": alg, "use": "sig"}


def server_config() -> dict:
    """The authorization-server configuration (README "Configuration (authorization server)")."""
    from cryptography.hazmat.primitives import serialization

    raw = signing_key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption())
    public = signing_key.public_key().public_bytes_raw()
    return {
        "issuer": ISSUER,
        "signing_keys": [{"kty": "OKP", "crv": "Ed25519", "x": b64(public), "d": b64(raw), "kid": "as-1", "alg": "EdDSA"}],
        "default_audiences": [AUD],
        "clients": [
            {"client_id": "worker", "token_endpoint_auth_method": "private_key_jwt", "scope": "orders:read",
             "jwks": {"keys": [_ec_public_jwk(worker_key, "w1", "ES256", "P-256", 32)]},
             "audiences": [AUD, AUD2], "token_ttl": 600, "claims": {"tenant": "acme"}},
            {"client_id": "worker2", "token_endpoint_auth_method": "private_key_jwt", "scope": "orders:read",
             "jwks": {"keys": [_ec_public_jwk(other_client_key, "w2", "ES256", "P-256", 32)]},
             "introspection": True},
            {"client_id": "retired", "token_endpoint_auth_method": "private_key_jwt", "scope": "orders:read",
             "jwks": {"keys": [_ec_public_jwk(retired_key, "r1", "ES256", "P-256", 32)]}, "disabled": True},
            {"client_id": "hmac", "token_endpoint_auth_method": "client_secret_jwt", "scope": "orders:read",
             "client_secret": HMAC_SECRET, "token_endpoint_auth_signing_alg": "HS256"},
        ],
    }


def requests(now: int) -> list[dict]:
    """[{name, body, authorization?, path, status, error, active}] for a server whose clock reads
    `now`: `path` the endpoint (token or introspection), `active` the introspection verdict
    (None for a token request or a refusal)."""

    def claims(client="worker", **over):
        c = {"iss": client, "sub": client, "aud": ISSUER, "iat": now, "exp": now + 120, "jti": None}
        c.update(over)
        return {k: v for k, v in c.items() if v is not None}

    def sign(c, key=worker_key, alg="ES256", kid="w1", typ="client-authentication+jwt"):
        # typ None: PyJWT drops the member (it would otherwise add "typ": "JWT").
        headers = {"kid": kid, "typ": typ} if kid else {"typ": typ}
        return jwt.encode(c, key, algorithm=alg, headers=headers)

    def sign_header(c, header, key=worker_key, alg="ES256"):
        # The header as given, byte for byte (PyJWT drops an empty typ).
        signing_input = b64(json.dumps(header).encode()) + "." + b64(json.dumps(c).encode())
        signature = jwt.get_algorithm_by_name(alg).sign(signing_input.encode(), key)
        return signing_input + "." + b64(signature)

    def body(assertion, **extra):
        params = {"grant_type": "client_credentials", "client_assertion_type": ASSERTION_TYPE, "client_assertion": assertion}
        params.update(extra)
        return urlencode({k: v for k, v in params.items() if v is not None})

    def access_token(client="worker", age=0):
        # An RFC 9068 access token as this server mints it for `client` (its key, `typ: at+jwt`),
        # issued `age` seconds ago, for 900 s.
        c = {"iss": ISSUER, "sub": client, "client_id": client, "aud": AUD, "iat": now - age, "exp": now - age + 900,
             "jti": "at-1", "scope": "orders:read"}
        return jwt.encode(c, signing_key, algorithm="EdDSA", headers={"kid": "as-1", "typ": "at+jwt"})

    def introspect(token, caller="worker2", key=other_client_key, kid="w2", jti=None):
        params = {"token": token, "client_assertion_type": ASSERTION_TYPE,
                  "client_assertion": sign(claims(caller, jti=jti), key=key, kid=kid)}
        return urlencode({k: v for k, v in params.items() if v is not None})

    unsigned = b64(b'{"alg":"none","typ":"client-authentication+jwt"}') + "." + b64(json.dumps(claims(jti="none-1")).encode()) + "."
    first = body(sign(claims(jti="ok-1")))
    bad = 401, "invalid_client"
    cases = [
        ("private_key_jwt ES256", first, None, 200, None),
        ("private_key_jwt without typ", body(sign(claims(jti="ok-2"), typ=None)), None, 200, None),
        ("client_secret_jwt HS256", body(sign(claims("hmac", jti="ok-3"), key=HMAC_SECRET, alg="HS256", kid=None)), None, 200, None),
        # draft-ietf-oauth-rfc7523bis §4 and DESIGN.md: typ absent, JWT (what Authlib, MSAL and
        # most libraries send) or client-authentication+jwt, compared as media types.
        ("typ JWT", body(sign(claims(jti="ok-4"), typ="JWT")), None, 200, None),
        ("typ application/jwt", body(sign(claims(jti="ok-5"), typ="application/jwt")), None, 200, None),
        ("typ APPLICATION/CLIENT-AUTHENTICATION+JWT", body(sign(claims(jti="ok-6"), typ="APPLICATION/CLIENT-AUTHENTICATION+JWT")), None, 200, None),
        ("client_secret_jwt typ JWT", body(sign(claims("hmac", jti="ok-7"), key=HMAC_SECRET, alg="HS256", kid=None, typ="JWT")), None, 200, None),
        # Authlib's PrivateKeyJWT defaults with aud set to the issuer: typ JWT, exp - iat = 3600 s.
        ("typ JWT and a 3600 s lifetime", body(sign(claims(jti="ok-8", exp=now + 3600), typ="JWT")), None, 200, None),
        # RFC 7523 §3 item 7 (jti) and DESIGN.md: an assertion is accepted once.
        ("replayed assertion", first, None, *bad),
        # RFC 7523 §3 item 3 / OIDC Core §9: aud is the issuer identifier, as a string.
        ("aud is the token endpoint URL", body(sign(claims(jti="a1", aud=ISSUER + TOKEN_PATH))), None, *bad),
        ("aud is a one-element array", body(sign(claims(jti="a2", aud=[ISSUER]))), None, *bad),
        ("aud is another server", body(sign(claims(jti="a3", aud="https://other.gatepass.test"))), None, *bad),
        # RFC 7523 §3 items 4-6: exp required and not passed, nbf not in the future; lifetime bounded.
        ("expired", body(sign(claims(jti="t1", iat=now - 400, exp=now - 200))), None, *bad),
        ("no exp", body(sign(claims(jti="t2", exp=None))), None, *bad),
        ("lifetime over 3600 s", body(sign(claims(jti="t3", exp=now + 3601))), None, *bad),
        ("no iat and exp over 3600 s ahead", body(sign(claims(jti="t6", iat=None, exp=now + 3700))), None, *bad),
        ("nbf in the future", body(sign(claims(jti="t4", nbf=now + 200, exp=now + 250))), None, *bad),
        ("iat in the future", body(sign(claims(jti="t5", iat=now + 200, exp=now + 250))), None, *bad),
        ("no jti", body(sign(claims())), None, *bad),
        # RFC 7523 §3 items 1-2: iss and sub are the client_id.
        ("sub is another client", body(sign(claims(jti="s1", sub="hmac"))), None, *bad),
        ("iss is another client", body(sign(claims(jti="s2", iss="hmac"))), None, *bad),
        ("unknown client", body(sign(claims("nobody", jti="s3"))), None, *bad),
        # Signature and algorithm binding (RFC 8725 §3.1): the registered key and its alg only.
        ("signed by another key", body(sign(claims(jti="k1"), key=intruder_key)), None, *bad),
        ("alg other than the key's (ES384)", body(sign(claims(jti="k2"), key=p384_key, alg="ES384")), None, *bad),
        ("signed by another client's key (its kid)", body(sign(claims(jti="k5"), key=other_client_key, kid="w2")), None, *bad),
        ("signed by another client's key (the client's kid)", body(sign(claims(jti="k6"), key=other_client_key)), None, *bad),
        # RFC 8725 §3.10: a key embedded in the assertion is never trusted.
        ("embedded jwk of the signing key", body(jwt.encode(
            claims(jti="k7"), intruder_key, algorithm="ES256",
            headers={"typ": "client-authentication+jwt", "jwk": _ec_public_jwk(intruder_key, "w1", "ES256", "P-256", 32)})), None, *bad),
        ("HMAC assertion for a key-based client", body(sign(claims(jti="k3"), key=HMAC_SECRET, alg="HS256", kid=None)), None, *bad),
        ("alg none", body(unsigned), None, *bad),
        # RFC 8725 §3.11: any other explicit type marks a JWT made for something else.
        ("typ at+jwt", body(sign(claims(jti="y1"), typ="at+jwt")), None, *bad),
        ("typ application/at+jwt", body(sign(claims(jti="y2"), typ="application/at+jwt")), None, *bad),
        ("typ dpop+jwt", body(sign(claims(jti="y3"), typ="dpop+jwt")), None, *bad),
        ("typ empty", body(sign_header(claims(jti="y4"), {"alg": "ES256", "kid": "w1", "typ": ""})), None, *bad),
        ("client_secret_jwt typ at+jwt", body(sign(claims("hmac", jti="y5"), key=HMAC_SECRET, alg="HS256", kid=None, typ="at+jwt")), None, *bad),
        ("an access token of this server as the assertion", body(access_token()), None, *bad),
        ("client_secret_jwt with the wrong secret", body(sign(claims("hmac", jti="k4"), key=HMAC_SECRET + "x", alg="HS256", kid=None)), None, *bad),
        ("not a JWT", body("not-a-jwt"), None, *bad),
        # RFC 6749 §2.3: one authentication method per request; §3.2: no repeated parameters;
        # RFC 7521 §4.2: both assertion parameters (one alone is a malformed request); a type
        # other than RFC 7523 §2.2's is an assertion the server cannot validate (§4.2.1:
        # invalid_client).
        ("assertion and Basic together", body(sign(claims(jti="r1"))), "Basic " + base64.b64encode(b"worker:x").decode(), 400, "invalid_request"),
        ("client_assertion repeated", body(sign(claims(jti="r2"))) + "&client_assertion=x", None, 400, "invalid_request"),
        ("no client_assertion_type", urlencode({"grant_type": "client_credentials", "client_assertion": sign(claims(jti="r3"))}), None, 400, "invalid_request"),
        ("another client_assertion_type", body(sign(claims(jti="r4")), client_assertion_type="urn:ietf:params:oauth:client-assertion-type:saml2-bearer"), None, *bad),
        # Client settings (README, "Client settings"): audiences named with RFC 8707 resource or
        # the audience parameter, not both; a disabled client answered as a wrong secret.
        ("audience parameter", body(sign(claims(jti="c1")), audience=AUD2), None, 200, None),
        ("audience parameter repeated", body(sign(claims(jti="c2"))) + "&" + urlencode({"audience": AUD}) + "&" + urlencode({"audience": AUD2}), None, 200, None),
        ("resource and audience together", body(sign(claims(jti="c3")), resource=AUD, audience=AUD), None, 400, "invalid_request"),
        ("audience the client may not have", body(sign(claims(jti="c4")), audience="https://other.gatepass.test"), None, 400, "invalid_target"),
        ("disabled client", body(sign(claims("retired", jti="c5"), key=retired_key, kid="r1")), None, *bad),
    ]
    out = [{"name": n, "body": b, "authorization": a, "path": TOKEN_PATH, "status": s, "error": e, "active": None}
           for n, b, a, s, e in cases]
    # RFC 7662 introspection (README, "Token introspection"): worker2 may introspect.
    introspections = [
        ("introspection of a token of this server", introspect(access_token(), jti="i1"), 200, None, True),
        ("introspection of an expired token", introspect(access_token(age=900), jti="i2"), 200, None, False),
        ("introspection of a disabled client's token", introspect(access_token("retired"), jti="i3"), 200, None, False),
        ("introspection of an unknown client's token", introspect(access_token("nobody"), jti="i4"), 200, None, False),
        ("introspection of an assertion", introspect(sign(claims(jti="x1")), jti="i5"), 200, None, False),
        ("introspection by a client without the setting", introspect(access_token(), "worker", worker_key, "w1", jti="i6"), 400, "unauthorized_client", None),
        ("introspection with a replayed assertion", introspect(access_token(), jti="i1"), *bad, None),
        ("introspection without a token", introspect("", jti="i7"), 400, "invalid_request", None),
    ]
    out += [{"name": n, "body": b, "authorization": None, "path": INTROSPECTION_PATH, "status": s, "error": e, "active": act}
            for n, b, s, e, act in introspections]
    return out
