#!/usr/bin/env python3
"""Writes cases.json (access tokens) and assertions.json (token requests with client
assertions), and the verdict every gatepass shell must give.

The same file is checked by the core (core/tests/cross_shell.rs), the npm package
(node-binding/test/cross-shell.test.js) and the Envoy filter (tests/envoy/test_cross_shell.py).
Tokens use fixed keys (below; test material only) and real-world times far from now: a good
token expires at 2001001001 (2033), an expired one at 1205005587 (2008), as Envoy's jwt_authn
tests do, so the vectors hold under a real clock.

Run with the repo's .venv (pyjwt, cryptography): .venv/bin/python tests/vectors/cross-shell/generate.py
(`--assertions-only` rewrites only assertions.json).
"""
import base64
import json
import sys
from pathlib import Path

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

HERE = Path(__file__).parent
ISSUER = "https://auth.gatepass.test"
AUD = "https://orders.gatepass.test"
GOOD_EXP, EXPIRED, IAT = 2001001001, 1205005587, 1205000000

ed = ed25519.Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
ec_key = ec.derive_private_key(0x1234567890ABCDEF1234567890ABCDEF, ec.SECP256R1())


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwks():
    edx = ed.public_key().public_bytes_raw()
    nums = ec_key.public_key().public_numbers()
    return {"keys": [
        {"kty": "OKP", "crv": "Ed25519", "x": b64(edx), "kid": "ed", "alg": "EdDSA", "use": "sig"},
        {"kty": "EC", "crv": "P-256", "x": b64(nums.x.to_bytes(32, "big")), "y": b64(nums.y.to_bytes(32, "big")), "kid": "ec", "alg": "ES256", "use": "sig"},
    ]}


def claims(**over):
    c = {"iss": ISSUER, "aud": AUD, "sub": "billing", "client_id": "billing", "iat": IAT, "exp": GOOD_EXP,
         "jti": "j1", "scope": "orders:read"}
    c.update(over)
    return {k: v for k, v in c.items() if v is not None}


def sign(c, kid="ed", typ="at+jwt", key=None, alg=None):
    key = key or (ed if kid == "ed" else ec_key)
    alg = alg or ("EdDSA" if kid == "ed" else "ES256")
    # typ None: PyJWT drops the member (it would otherwise add "typ": "JWT").
    headers = {"kid": kid, "typ": typ}
    return jwt.encode(c, key, algorithm=alg, headers=headers)


good = sign(claims())
h, p, s = good.split(".")
other_ed = ed25519.Ed25519PrivateKey.from_private_bytes(bytes(range(1, 33)))
cases = [
    ("valid EdDSA token", good, ["orders:read"], 200, None),
    ("valid ES256 token", sign(claims(), kid="ec"), ["orders:read"], 200, None),
    ("application/at+jwt typ", sign(claims(), typ="application/at+jwt"), ["orders:read"], 200, None),
    ("missing scope", good, ["orders:write"], 403, "insufficient_scope"),
    ("expired", sign(claims(exp=EXPIRED)), ["orders:read"], 401, "invalid_token"),
    ("wrong audience", sign(claims(aud="https://other.gatepass.test")), ["orders:read"], 401, "invalid_token"),
    ("wrong issuer", sign(claims(iss="https://evil.gatepass.test")), ["orders:read"], 401, "invalid_token"),
    ("typ JWT", sign(claims(), typ="JWT"), ["orders:read"], 401, "invalid_token"),
    ("no typ", sign(claims(), typ=None), ["orders:read"], 401, "invalid_token"),
    ("no exp", sign(claims(exp=None)), ["orders:read"], 401, "invalid_token"),
    ("signed by another key", sign(claims(), key=other_ed), ["orders:read"], 401, "invalid_token"),
    ("unknown kid", sign(claims(), kid="nope", key=ed, alg="EdDSA"), ["orders:read"], 401, "invalid_token"),
    ("alg none", b64(b'{"alg":"none","kid":"ed","typ":"at+jwt"}') + "." + p + ".", ["orders:read"], 401, "invalid_token"),
    # Padding only at the end: still a valid RFC 6750 b64token in a header, so every shell sees
    # the same token and refuses its non-canonical base64url (RFC 7515 §2).
    ("padded base64 signature", h + "." + p + "." + s + "==", ["orders:read"], 401, "invalid_token"),
    ("duplicate header member", b64(b'{"alg":"EdDSA","alg":"EdDSA","kid":"ed","typ":"at+jwt"}') + "." + p + "." + s, ["orders:read"], 401, "invalid_token"),
    ("tampered payload", h + "." + b64(json.dumps(claims(scope="orders:read orders:write")).encode()) + "." + s, ["orders:read"], 401, "invalid_token"),
    # The provider's scope_claims is ["scope", "permissions"]: the first of them a token has
    # gives its scopes (issue 15).
    ("scopes from permissions without scope", sign(claims(scope=None, permissions=["orders:read"])), ["orders:read"], 200, None),
    ("scope read first, permissions not", sign(claims(scope="orders:write", permissions=["orders:read"])), ["orders:read"], 403, "insufficient_scope"),
    ("permissions as a space-delimited string", sign(claims(scope=None, permissions="orders:write orders:read")), ["orders:read"], 200, None),
    ("permissions of the wrong type", sign(claims(scope=None, permissions=["orders:read", 1])), ["orders:read"], 401, "invalid_token"),
    ("scp is not among scope_claims", sign(claims(scope=None, scp=["orders:read"])), ["orders:read"], 403, "insufficient_scope"),
]
doc = {
    "provider": {"issuer": ISSUER, "audiences": [AUD], "local_jwks": {"inline_string": json.dumps(jwks())}, "algorithms": ["EdDSA", "ES256"], "scope_claims": ["scope", "permissions"]},
    "cases": [{"name": n, "token": t, "scopes": sc, "status": st, "error": e} for n, t, sc, st, e in cases],
}
if "--assertions-only" not in sys.argv:
    # ES256 signatures are randomized: regenerating rewrites that token (same verdict).
    (HERE / "cases.json").write_text(json.dumps(doc, indent=1) + "\n")
    print(f"wrote {len(cases)} cases")

# Client assertions: made for a fixed clock (see assertions.py for why they cannot be fixed bytes
# under a real clock, and how the Envoy test makes the same cases for its own).
import assertions  # noqa: E402

requests = assertions.requests(assertions.NOW)
(HERE / "assertions.json").write_text(json.dumps(
    {"now": assertions.NOW, "server": assertions.server_config(), "token_path": assertions.TOKEN_PATH, "requests": requests},
    indent=1) + "\n")
print(f"wrote {len(requests)} assertion requests")
