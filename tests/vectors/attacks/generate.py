#!/usr/bin/env python3
"""Writes tokens.json: attacks on access-token verification, each with the answer every gatepass
shell must give (the format of ../cross-shell/cases.json: a provider and cases).

Checked by the same runners as the cross-shell vectors: core (core/tests/cross_shell.rs), the
npm package (node-binding/test/cross-shell.test.js) and the Envoy filter
(tests/envoy/test_cross_shell.py). Assertion attacks on the token endpoint are in
../cross-shell/assertions.py.

Times are fixed and far from now (a good token lives 2008 → 2033) so the file holds under a real
clock; the provider's max_lifetime is 30 years so the good tokens pass and a 34-year one does
not. Keys are generated per run (test material only): regenerating rewrites every token.

Run with the repo's .venv (pyjwt, cryptography): .venv/bin/python tests/vectors/attacks/generate.py
"""
import base64
import hashlib
import hmac
import json
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

HERE = Path(__file__).parent
ISSUER = "https://auth.gatepass.test"
AUD = "https://orders.gatepass.test"
GOOD_EXP, EXPIRED, IAT = 2001001001, 1205005587, 1205000000
MAX_LIFETIME = 30 * 365 * 86400

ed = ed25519.Ed25519PrivateKey.generate()
ec_key = ec.generate_private_key(ec.SECP256R1())
rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
attacker_ed = ed25519.Ed25519PrivateKey.generate()
attacker_ec = ec.generate_private_key(ec.SECP256R1())


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def int_b64(n: int, size: int | None = None) -> str:
    return b64(n.to_bytes(size or (n.bit_length() + 7) // 8, "big"))


def ed_jwk(key, kid):
    return {"kty": "OKP", "crv": "Ed25519", "x": b64(key.public_key().public_bytes_raw()), "kid": kid, "alg": "EdDSA", "use": "sig"}


def ec_jwk(key, kid):
    n = key.public_key().public_numbers()
    return {"kty": "EC", "crv": "P-256", "x": int_b64(n.x, 32), "y": int_b64(n.y, 32), "kid": kid, "alg": "ES256", "use": "sig"}


rsa_pub = rsa_key.public_key().public_numbers()
JWKS = {"keys": [
    ed_jwk(ed, "ed"),
    ec_jwk(ec_key, "ec"),
    {"kty": "RSA", "n": int_b64(rsa_pub.n), "e": int_b64(rsa_pub.e), "kid": "rsa", "alg": "RS256", "use": "sig"},
]}


def claims(**over):
    c = {"iss": ISSUER, "aud": AUD, "sub": "billing", "client_id": "billing", "iat": IAT, "exp": GOOD_EXP,
         "jti": "j1", "scope": "orders:read"}
    c.update(over)
    return {k: v for k, v in c.items() if v is not None}


def sign(c, kid="ed", typ="at+jwt", key=None, alg=None, **header):
    key = key or {"ed": ed, "ec": ec_key, "rsa": rsa_key}.get(kid, ed)
    alg = alg or {"ec": "ES256", "rsa": "RS256"}.get(kid, "EdDSA")
    # typ None: PyJWT drops the member (it would otherwise add "typ": "JWT").
    headers = {"kid": kid, "typ": typ, **header}
    if kid is None:
        del headers["kid"]
    return jwt.encode(c, key, algorithm=alg, headers=headers)


def raw_sign(header_json: bytes, payload_json: bytes, key=ed) -> str:
    """A token from exact header and payload bytes (duplicates, nesting), signed for real."""
    signing_input = b64(header_json) + "." + b64(payload_json)
    return signing_input + "." + b64(key.sign(signing_input.encode()))


def hs256(header: dict, c: dict, secret: bytes) -> str:
    signing_input = b64(json.dumps(header).encode()) + "." + b64(json.dumps(c).encode())
    return signing_input + "." + b64(hmac.new(secret, signing_input.encode(), hashlib.sha256).digest())


good = sign(claims())
h, p, s = good.split(".")
payload_json = json.dumps(claims()).encode()
rsa_pem = rsa_key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
ec_pem = ec_key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
nested = b'{"iss":"' + ISSUER.encode() + b'","aud":"' + AUD.encode() + b'","sub":"billing","exp":2001001001,"x":' + b"[" * 5000 + b"]" * 5000 + b"}"
big_claim = claims(pad="A" * 20_000)
std_alphabet_sig = base64.b64encode(base64.urlsafe_b64decode(s + "==")).decode().rstrip("=")
# The last base64url character of a 64-byte signature carries 4 unused bits; set one.
alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
last = alphabet.index(s[-1])
non_canonical_sig = s[:-1] + alphabet[last | 1] if last % 16 == 0 else s[:-1] + alphabet[(last & ~15) | ((last + 1) % 16)]
bad = ["orders:read"], 401, "invalid_token"

cases = [
    ("control: valid EdDSA", good, ["orders:read"], 200, None),
    ("control: valid ES256", sign(claims(), kid="ec"), ["orders:read"], 200, None),
    ("control: valid RS256", sign(claims(), kid="rsa"), ["orders:read"], 200, None),
    # RFC 8725 §3.1 / §2.1: "none" is never accepted, in any spelling, signed or not.
    *[(f"alg {a}", b64(json.dumps({"alg": a, "kid": "ed", "typ": "at+jwt"}).encode()) + "." + p + ".", *bad)
      for a in ("none", "None", "NONE", "nOnE")],
    ("alg none with a signature", b64(b'{"alg":"none","kid":"ed","typ":"at+jwt"}') + "." + p + "." + s, *bad),
    # RFC 8725 §2.1 (algorithm confusion): HS256 keyed with the public key.
    ("HS256 keyed with the RSA public key (PEM)", hs256({"alg": "HS256", "kid": "rsa", "typ": "at+jwt"}, claims(), rsa_pem), *bad),
    ("HS256 keyed with the EC public key (PEM)", hs256({"alg": "HS256", "kid": "ec", "typ": "at+jwt"}, claims(), ec_pem), *bad),
    ("HS256 keyed with the RSA JWK text", hs256({"alg": "HS256", "kid": "rsa", "typ": "at+jwt"}, claims(), json.dumps(JWKS["keys"][2]).encode()), *bad),
    ("HS256 without kid keyed with the Ed25519 x", hs256({"alg": "HS256", "typ": "at+jwt"}, claims(), ed.public_key().public_bytes_raw()), *bad),
    # CVE-2022-21449 ("psychic signatures"): r = s = 0 must not verify.
    ("ES256 r = s = 0", b64(b'{"alg":"ES256","kid":"ec","typ":"at+jwt"}') + "." + p + "." + b64(bytes(64)), *bad),
    ("ES256 r = s = n (group order)", b64(b'{"alg":"ES256","kid":"ec","typ":"at+jwt"}') + "." + p + "." + b64(bytes.fromhex("FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551") * 2), *bad),
    # RFC 8725 §3.10 / RFC 7515 §4.1.3-6: keys named by the token itself are never trusted.
    ("embedded jwk (attacker key), no kid", sign(claims(), kid=None, key=attacker_ed, jwk=ed_jwk(attacker_ed, "x")), *bad),
    ("embedded jwk (attacker key), real kid", sign(claims(), key=attacker_ed, jwk=ed_jwk(attacker_ed, "ed")), *bad),
    ("jku to the attacker", sign(claims(), kid="evil", key=attacker_ed, jku="https://evil.example/jwks.json"), *bad),
    ("x5u to the attacker", sign(claims(), key=attacker_ec, alg="ES256", kid="ec", x5u="https://evil.example/cert.pem"), *bad),
    ("x5c with the attacker's certificate bytes", sign(claims(), key=attacker_ec, alg="ES256", kid="ec", x5c=[base64.b64encode(b"\x30\x82" + bytes(300)).decode()]), *bad),
    # kid is a lookup key, never a path or a query.
    ("kid path traversal", sign(claims(), kid="../../../../dev/null"), *bad),
    ("kid SQL-looking", sign(claims(), kid="' OR '1'='1"), *bad),
    ("kid with NUL", sign(claims(), kid="ed\u0000"), *bad),
    ("kid of the EC key on an EdDSA token", sign(claims(), kid="ec", key=ed, alg="EdDSA"), *bad),
    ("alg switched to ES384 on the P-256 key", b64(b'{"alg":"ES384","kid":"ec","typ":"at+jwt"}') + "." + sign(claims(), kid="ec").split(".", 1)[1], *bad),
    # RFC 7515 §4.1.11: an unknown critical extension is refused; RFC 7797 b64:false too.
    ("crit with an unknown extension", sign(claims(), crit=["x-unknown"], **{"x-unknown": 1}), *bad),
    ("crit naming a registered header", sign(claims(), crit=["kid"]), *bad),
    ("b64 false (RFC 7797)", sign(claims(), crit=["b64"], b64=False), *bad),
    # RFC 7515 §5.2 / RFC 8259 §4: duplicate member names are refused, not last-wins.
    ("duplicate exp in the payload", raw_sign(b'{"alg":"EdDSA","kid":"ed","typ":"at+jwt"}', payload_json[:-1] + b',"exp":1205005587}'), *bad),
    ("duplicate aud in the payload", raw_sign(b'{"alg":"EdDSA","kid":"ed","typ":"at+jwt"}', payload_json[:-1] + b',"aud":"https://evil.example"}'), *bad),
    ("duplicate kid in the header", raw_sign(b'{"alg":"EdDSA","kid":"ed","kid":"ec","typ":"at+jwt"}', payload_json), *bad),
    # RFC 7515 §2 / RFC 4648 §5: base64url without padding, canonical.
    ("standard base64 alphabet in the signature", h + "." + p + "." + std_alphabet_sig, *bad) if std_alphabet_sig != s else ("signature with a + character", h + "." + p + "." + s[:-2] + "+A", *bad),
    ("non-canonical trailing bits in the signature", h + "." + p + "." + non_canonical_sig, *bad),
    # "~" is allowed in an RFC 6750 §2.1 b64token (so the header carries it) but not in base64url.
    # (A space would already make the Authorization header malformed: 400 invalid_request.)
    ("tilde inside the payload segment", h + "." + p[:10] + "~" + p[10:] + "." + s, *bad),
    ("four segments", good + ".AAAA", *bad),
    # Size and nesting bounds (the payload is validly signed: only the bound refuses it).
    ("token over 16 KiB", sign(big_claim), *bad),
    ("payload nested 5000 deep", raw_sign(b'{"alg":"EdDSA","kid":"ed","typ":"at+jwt"}', nested), *bad),
    # RFC 9068 §4 / RFC 8725 §3.11: other JWTs presented as access tokens.
    ("an ID token (typ JWT, nonce, azp)", sign(claims(nonce="n", azp="billing"), typ="JWT"), *bad),
    ("a client assertion (typ client-authentication+jwt)", sign(claims(aud=ISSUER), typ="client-authentication+jwt"), *bad),
    # Client assertions may be typed JWT (DESIGN.md): one made as Authlib makes it (iss = sub =
    # the client, aud = the issuer) is still no access token.
    ("a client assertion as Authlib signs it (typ JWT)", sign({"iss": "billing", "sub": "billing", "aud": ISSUER, "iat": IAT, "exp": GOOD_EXP, "jti": "a1"}, typ="JWT"), *bad),
    ("a client assertion typed JWT with this API as aud", sign({"iss": "billing", "sub": "billing", "aud": AUD, "iat": IAT, "exp": GOOD_EXP, "jti": "a2", "scope": "orders:read"}, typ="JWT"), *bad),
    ("typ application/jwt", sign(claims(), typ="application/jwt"), *bad),
    ("no typ", sign(claims(), typ=None), *bad),
    # RFC 7519 §4.1.4-6, RFC 9068 §4: time claims.
    ("expired", sign(claims(exp=EXPIRED)), *bad),
    ("not yet valid (nbf 2033)", sign(claims(nbf=2_000_000_000)), *bad),
    ("issued in the future (iat 2033)", sign(claims(iat=2_000_000_000)), *bad),
    ("lifetime over max_lifetime (34 years)", sign(claims(exp=IAT + MAX_LIFETIME + 4 * 365 * 86400)), *bad),
    ("exp as a string", sign(claims(exp=str(GOOD_EXP))), *bad),
    # RFC 9068 §4: iss exactly, aud contains this resource server.
    ("iss with a trailing slash", sign(claims(iss=ISSUER + "/")), *bad),
    ("iss in another case", sign(claims(iss=ISSUER.upper())), *bad),
    ("aud of another API", sign(claims(aud="https://billing.gatepass.test")), *bad),
    ("aud empty array", sign(claims(aud=[])), *bad),
    ("aud array without this API", sign(claims(aud=["https://a.gatepass.test", "https://b.gatepass.test"])), *bad),
    ("aud array with this API", sign(claims(aud=["https://a.gatepass.test", AUD])), ["orders:read"], 200, None),
    # Signature checks.
    ("signed by an attacker with the real kid", sign(claims(), key=attacker_ed), *bad),
    ("payload swapped from another valid token", h + "." + sign(claims(scope="orders:read orders:write"), kid="ec").split(".")[1] + "." + s, *bad),
    ("scope escalation needs the scope", good, ["orders:write"], 403, "insufficient_scope"),
]
doc = {
    "provider": {"issuer": ISSUER, "audiences": [AUD], "local_jwks": {"inline_string": json.dumps(JWKS)},
                 "algorithms": ["EdDSA", "ES256", "RS256"], "max_lifetime": f"{MAX_LIFETIME}s"},
    "cases": [{"name": n, "token": t, "scopes": sc, "status": st, "error": e} for n, t, sc, st, e in cases],
}
names = [c["name"] for c in doc["cases"]]
assert len(names) == len(set(names)), "case names must be unique"
(HERE / "tokens.json").write_text(json.dumps(doc, indent=1) + "\n")
print(f"wrote {len(cases)} attack cases")
