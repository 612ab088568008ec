#!/usr/bin/env python3
"""Writes rsa_keys.json: fixed RSA-2048 private JWKs for the integration tests.

RSA key generation in an unoptimised (debug) test build takes far too long, so the tests
load these instead of generating keys. Regenerate with: python3 make_rsa_keys.py
(needs the `cryptography` package). The keys are test material only.
"""
import base64
import json

from cryptography.hazmat.primitives.asymmetric import rsa


def b64(n: int) -> str:
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def jwk(name: str) -> dict:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    priv = key.private_numbers()
    pub = priv.public_numbers
    return {
        "name": name,
        "jwk": {
            "kty": "RSA",
            "n": b64(pub.n),
            "e": b64(pub.e),
            "d": b64(priv.d),
            "p": b64(priv.p),
            "q": b64(priv.q),
            "dp": b64(priv.dmp1),
            "dq": b64(priv.dmq1),
            "qi": b64(priv.iqmp),
        },
    }


keys = [jwk(n) for n in ("server-rs256", "server-ps256", "client-rs256", "client-ps256", "attacker")]
with open("rsa_keys.json", "w") as f:
    json.dump({"keys": keys}, f, indent=2)
    f.write("\n")
