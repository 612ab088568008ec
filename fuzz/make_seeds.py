#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets, fuzz/seeds/<target>/, from the project's test
vectors (Python 3 standard library only; the output is deterministic, so reruns change nothing):

  tests/vectors/cross-shell/cases.json       access tokens          -> token_verify
  tests/vectors/cross-shell/assertions.json  token requests         -> token_request, client_assertion
  tests/vectors/wycheproof/*.json            JWS strings, JWKs      -> token_verify, jwks
  core/tests/vectors/rsa_keys.json           RSA test keys          -> jwks, and signs RS256/PS256
                                                                       seeds (tokens, assertions)
  envoy/*.yaml (+ envoy/demo-keys/)          plugin configurations  -> config_filter, config_server
  envoy/demo-keys/*.json                     JWKs                   -> jwks

The fixed keys, clients and clock the seeds are made for are in fuzz/src/lib.rs (NOW, ISSUER,
the `billing`/`poster`/`hmac`/`rsa-client` clients and their secrets).

Usage: python3 fuzz/make_seeds.py [--out DIR]   (default fuzz/seeds)
"""
from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import re
import shutil
import struct
import sys
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VECTORS = ROOT / "tests" / "vectors"
WYCHEPROOF = VECTORS / "wycheproof"

# Must match fuzz/src/lib.rs.
NOW = 1_900_000_000
ISSUER = "https://auth.gatepass.test"
ORDERS = "https://orders.gatepass.test"
BILLING = "https://billing.gatepass.test"
JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
FORM = "application/x-www-form-urlencoded"
BASIC_CLIENT, BASIC_SECRET = "billing", "fuzz-basic-secret-0123456789abcdefghijklmn"
ODD_CLIENT, ODD_SECRET = "odd:client%+ &=~", "p@ss:w%rd+ ü/="
POST_CLIENT, POST_SECRET = "poster", "fuzz-post-secret-0123456789abcdefghijklmno"
HMAC_SECRET = "cross-shell-hmac-secret-0123456789abcdefghijklmnopqrstuvwxyzABCDEF"

MAX_WYCHEPROOF_JWS = 40


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_int(text: str) -> int:
    return int.from_bytes(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)), "big")


def compact(value) -> str:
    return json.dumps(value, separators=(",", ":"))


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60] or "x"


# --------------------------------------------------------------------------------------------
# Signing with the stdlib: RSA (PKCS#1 v1.5 and PSS with a fixed salt) and HMAC.

SHA256_DIGEST_INFO = bytes.fromhex("3031300d060960864801650304020105000420")


class RsaKey:
    def __init__(self, jwk: dict):
        self.n = b64url_int(jwk["n"])
        self.d = b64url_int(jwk["d"])
        self.size = (self.n.bit_length() + 7) // 8

    def _raw(self, em: bytes) -> bytes:
        return pow(int.from_bytes(em, "big"), self.d, self.n).to_bytes(self.size, "big")

    def rs256(self, message: bytes) -> bytes:
        t = SHA256_DIGEST_INFO + hashlib.sha256(message).digest()
        return self._raw(b"\x00\x01" + b"\xff" * (self.size - len(t) - 3) + b"\x00" + t)

    def ps256(self, message: bytes) -> bytes:
        # RFC 8017 §9.1.1 EMSA-PSS-ENCODE, SHA-256, MGF1-SHA-256, 32-byte (fixed) salt.
        em_bits = self.n.bit_length() - 1
        em_len = (em_bits + 7) // 8
        salt = bytes(range(32))
        h = hashlib.sha256(b"\x00" * 8 + hashlib.sha256(message).digest() + salt).digest()
        db = b"\x00" * (em_len - len(salt) - 32 - 2) + b"\x01" + salt
        mask, counter = b"", 0
        while len(mask) < len(db):
            mask += hashlib.sha256(h + counter.to_bytes(4, "big")).digest()
            counter += 1
        masked = bytearray(a ^ b for a, b in zip(db, mask))
        masked[0] &= 0xFF >> (8 * em_len - em_bits)
        return self._raw(bytes(masked) + h + b"\xbc")


def jws(header: dict, claims: dict, sign) -> str:
    signing_input = f"{b64url(compact(header).encode())}.{b64url(compact(claims).encode())}"
    return f"{signing_input}.{b64url(sign(signing_input.encode()))}"


def hs256(secret: str):
    return lambda m: hmac.new(secret.encode(), m, hashlib.sha256).digest()


# --------------------------------------------------------------------------------------------
# Inputs


def load(path: Path):
    return json.loads(path.read_text())


def rsa_keys() -> dict[str, dict]:
    doc = load(ROOT / "core" / "tests" / "vectors" / "rsa_keys.json")
    return {k["name"]: k["jwk"] for k in doc["keys"]}


def form_body(params: list[tuple[str, str]]) -> str:
    return urllib.parse.urlencode(params, quote_via=urllib.parse.quote)


def request_seed(body: str, authorization: str | None = None, method: str = "POST",
                 content_type: str | None = FORM) -> bytes:
    """The token_request input format: method \\n content-type \\n authorization \\n body."""
    return f"{method}\n{content_type or ''}\n{authorization or ''}\n{body}".encode()


def basic(client_id: str, secret: str) -> str:
    raw = f"{urllib.parse.quote_plus(client_id)}:{urllib.parse.quote_plus(secret)}"
    return "Basic " + base64.b64encode(raw.encode()).decode()


def envoy_configs() -> list[tuple[str, str]]:
    """The plugin configuration (JSON) of each envoy/*.yaml, placeholders filled by render.py."""
    sys.path.insert(0, str(ROOT / "envoy"))
    try:
        import render  # envoy/render.py: standard library only
    finally:
        sys.path.pop(0)
    out = []
    for path in sorted((ROOT / "envoy").glob("*.yaml")):
        lines = render.render(path.read_text()).splitlines()
        n = 0
        for i, line in enumerate(lines):
            if line.strip() != "value: |":
                continue
            indent = len(line) - len(line.lstrip())
            block = []
            for following in lines[i + 1:]:
                if following.strip() and len(following) - len(following.lstrip()) <= indent:
                    break
                block.append(following)
            doc = json.loads("\n".join(block))
            out.append((f"{path.stem}-{n}", json.dumps(doc, indent=1)))
            n += 1
    return out


# --------------------------------------------------------------------------------------------
# Seeds per target


def token_verify_seeds(rsa: dict) -> dict[str, bytes]:
    seeds = {}
    for i, case in enumerate(load(VECTORS / "cross-shell" / "cases.json")["cases"]):
        seeds[f"cases-{i:02}-{slug(case['name'])}"] = case["token"].encode()
    base = {"iss": ISSUER, "aud": ORDERS, "sub": "billing", "client_id": "billing",
            "iat": NOW - 100, "exp": 2_001_001_001, "jti": "fuzz-1", "scope": "orders:read"}
    rs, ps = RsaKey(rsa["server-rs256"]), RsaKey(rsa["server-ps256"])
    variants = {
        "rs256": ({"alg": "RS256", "kid": "rs", "typ": "at+jwt"}, base, rs.rs256),
        "rs256-aud-array-scp": ({"alg": "RS256", "kid": "rs", "typ": "application/at+jwt"},
                                dict(base, aud=["x", ORDERS], scp=["a", "b"], nbf=NOW - 5),
                                rs.rs256),
        "ps256": ({"alg": "PS256", "kid": "ps", "typ": "at+jwt"}, base, ps.ps256),
        "ps256-no-kid": ({"alg": "PS256", "typ": "at+jwt"}, dict(base, scopes=["c"]), ps.ps256),
        "rs256-as-ps256-key": ({"alg": "RS256", "kid": "ps", "typ": "at+jwt"}, base, ps.rs256),
        "rs256-crit": ({"alg": "RS256", "kid": "rs", "typ": "at+jwt", "crit": ["exp"]}, base,
                       rs.rs256),
    }
    for name, (header, claims, sign) in variants.items():
        seeds[f"gen-{name}"] = jws(header, claims, sign).encode()
    seeds["header-bearer"] = ("Bearer " + jws(*variants["rs256"])).encode()
    seeds["header-bearer-spaces"] = b"bearer   abc.def.ghi=="
    # Wycheproof JWS: an even sample of the distinct strings.
    tokens = sorted({t["jws"] for g in load(WYCHEPROOF / "json_web_signature_test.json")["testGroups"]
                     for t in g["tests"] if isinstance(t.get("jws"), str)})
    step = max(1, len(tokens) // MAX_WYCHEPROOF_JWS)
    for i, token in enumerate(tokens[::step][:MAX_WYCHEPROOF_JWS]):
        seeds[f"wycheproof-{i:02}"] = token.encode()
    return seeds


def assertion_seeds(rsa: dict) -> dict[str, str]:
    """client_assertion values: those of assertions.json and RSA/HMAC ones for the fuzz config."""
    out = {}
    for i, req in enumerate(load(VECTORS / "cross-shell" / "assertions.json")["requests"]):
        params = urllib.parse.parse_qs(req["body"], keep_blank_values=True)
        for j, value in enumerate(params.get("client_assertion", [])):
            out[f"cross-{i:02}-{j}-{slug(req['name'])}"] = value
    claims = lambda sub, **over: dict(  # noqa: E731
        {"iss": sub, "sub": sub, "aud": ISSUER, "iat": NOW, "exp": NOW + 120, "jti": "fz-1"}, **over)
    r1, p1 = RsaKey(rsa["client-rs256"]), RsaKey(rsa["client-ps256"])
    typ = "client-authentication+jwt"
    gen = {
        "rs256": ({"alg": "RS256", "kid": "r1", "typ": typ}, claims("rsa-client"), r1.rs256),
        "ps256": ({"alg": "PS256", "kid": "p1"}, claims("rsa-client", nbf=NOW - 1), p1.ps256),
        "rs256-no-kid": ({"alg": "RS256"}, claims("rsa-client"), r1.rs256),
        "rs256-legacy-aud": ({"alg": "RS256", "kid": "r1"},
                             claims("rsa-client", aud=[ISSUER + "/oauth/token"]), r1.rs256),
        "rs256-long": ({"alg": "RS256", "kid": "r1"}, claims("rsa-client", exp=NOW + 3601),
                       r1.rs256),
        "rs256-typ-jwt": ({"alg": "RS256", "kid": "r1", "typ": "JWT"}, claims("rsa-client", jti="fz-3"),
                          r1.rs256),
        "rs256-typ-at-jwt": ({"alg": "RS256", "kid": "r1", "typ": "at+jwt"}, claims("rsa-client"),
                             r1.rs256),
        "hs256": ({"alg": "HS256", "typ": typ}, claims("hmac", jti="fz-2"), hs256(HMAC_SECRET)),
        "hs512": ({"alg": "HS512"}, claims("hmac"), hs256(HMAC_SECRET)),
        "ed-client-unsigned": ({"alg": "EdDSA"}, claims("ed-client"), lambda m: bytes(64)),
    }
    for name, (header, c, sign) in gen.items():
        out[f"gen-{name}"] = jws(header, c, sign)
    return out


def token_request_seeds(assertions: dict[str, str]) -> dict[str, bytes]:
    seeds = {}
    doc = load(VECTORS / "cross-shell" / "assertions.json")
    for i, req in enumerate(doc["requests"]):
        seeds[f"cross-{i:02}-{slug(req['name'])}"] = request_seed(req["body"], req["authorization"])
    cc = [("grant_type", "client_credentials")]
    seeds.update({
        "basic": request_seed(form_body(cc), basic(BASIC_CLIENT, BASIC_SECRET)),
        "basic-scope-resource": request_seed(
            form_body(cc + [("scope", "orders:read"), ("resource", BILLING), ("resource", ORDERS)]),
            basic(BASIC_CLIENT, BASIC_SECRET)),
        "basic-odd": request_seed(form_body(cc + [("client_id", ODD_CLIENT)]),
                                  basic(ODD_CLIENT, ODD_SECRET)),
        "basic-wrong-secret": request_seed(form_body(cc), basic(BASIC_CLIENT, "nope")),
        "basic-bad-scope": request_seed(form_body(cc + [("scope", "orders:admin")]),
                                        basic(BASIC_CLIENT, BASIC_SECRET)),
        "post": request_seed(form_body(cc + [("client_id", POST_CLIENT),
                                             ("client_secret", POST_SECRET)])),
        "post-for-basic-client": request_seed(form_body(cc + [("client_id", BASIC_CLIENT),
                                                              ("client_secret", BASIC_SECRET)])),
        "get": request_seed(form_body(cc), basic(BASIC_CLIENT, BASIC_SECRET), method="GET"),
        "json": request_seed('{"grant_type":"client_credentials"}',
                             basic(BASIC_CLIENT, BASIC_SECRET), content_type="application/json"),
        "charset": request_seed(form_body(cc), basic(BASIC_CLIENT, BASIC_SECRET),
                                content_type=FORM + "; charset=UTF-8"),
        "no-auth": request_seed(form_body(cc)),
        "bearer-scheme": request_seed(form_body(cc), "Bearer abc"),
        "other-grant": request_seed("grant_type=password&username=a&password=b",
                                    basic(BASIC_CLIENT, BASIC_SECRET)),
    })
    for name in ("gen-rs256", "gen-ps256", "gen-hs256"):
        body = form_body(cc + [("client_assertion_type", JWT_BEARER),
                               ("client_assertion", assertions[name]), ("scope", "orders:read")])
        seeds[f"assertion-{name[4:]}"] = request_seed(body)
    return seeds


def basic_header_seeds() -> dict[str, bytes]:
    raw = lambda i, s: f"{urllib.parse.quote_plus(i)}:{urllib.parse.quote_plus(s)}".encode()  # noqa: E731
    return {
        # Even first byte: the rest is the credentials before base64.
        "raw-billing": b"\x00" + raw(BASIC_CLIENT, BASIC_SECRET),
        "raw-odd": b"\x00" + raw(ODD_CLIENT, ODD_SECRET),
        "raw-poster": b"\x00" + raw(POST_CLIENT, POST_SECRET),
        "raw-plus-percent": b"\x00a+b%20c%3A:%25%2B+x",
        "raw-bad-percent": b"\x00id:%zz",
        "raw-no-colon": b"\x00billing",
        "raw-empty-id": b"\x00:secret",
        "raw-latin1": b"\x00caf\xe9:x",
        # Odd first byte: the rest is the whole header value.
        "header-billing": b"\x01" + basic(BASIC_CLIENT, BASIC_SECRET).encode(),
        "header-odd": b"\x01" + basic(ODD_CLIENT, ODD_SECRET).encode(),
        "header-lowercase-spaces": b"\x01basic   " + basic(BASIC_CLIENT, BASIC_SECRET)[6:].encode(),
        "header-unpadded": b"\x01Basic " + basic(BASIC_CLIENT, BASIC_SECRET)[6:].rstrip("=").encode(),
        "header-bearer": b"\x01Bearer abc",
    }


def jwks_seeds(rsa: dict) -> dict[str, bytes]:
    seeds: dict[str, bytes] = {}
    seen: set[str] = set()

    def add(name: str, value) -> None:
        text = json.dumps(value, indent=1)
        if text not in seen:
            seen.add(text)
            seeds[name] = text.encode()

    cases = load(VECTORS / "cross-shell" / "cases.json")
    add("cases-provider-jwks", json.loads(cases["provider"]["local_jwks"]["inline_string"]))
    server = load(VECTORS / "cross-shell" / "assertions.json")["server"]
    for i, key in enumerate(server["signing_keys"]):
        add(f"assertions-signing-key-{i}", key)
    for c in server["clients"]:
        if "jwks" in c:
            add(f"assertions-client-{slug(c['client_id'])}", c["jwks"])
    for path in sorted((ROOT / "envoy" / "demo-keys").glob("*.json")):
        add(f"demo-{slug(path.stem)}", load(path))
    for name, jwk in sorted(rsa.items()):
        alg = "PS256" if "ps256" in name else "RS256"
        add(f"rsa-{name}-private", dict(jwk, alg=alg, kid=name))
        add(f"rsa-{name}-public", {"keys": [{"kty": "RSA", "n": jwk["n"], "e": jwk["e"],
                                             "kid": name, "alg": alg}]})
    for file in ("json_web_signature_test.json", "json_web_key_test.json"):
        for i, group in enumerate(load(WYCHEPROOF / file)["testGroups"]):
            for part in ("public", "private"):
                if isinstance(group.get(part), dict):
                    add(f"wycheproof-{Path(file).stem[:-5]}-{i:02}-{part}", group[part])
    add("oct", {"keys": [{"kty": "oct", "k": b64url(b"k" * 32), "alg": "HS256", "kid": "h"}]})
    add("mixed-unusable", {"keys": [{"kty": "EC", "crv": "P-256K", "x": "AA", "y": "AA"},
                                    {"kty": "RSA", "use": "enc", "n": "AQAB", "e": "AQAB"},
                                    {"kty": "OKP", "crv": "X25519", "x": "AA"},
                                    json.loads(cases["provider"]["local_jwks"]["inline_string"])
                                    ["keys"][0]]})
    return seeds


def config_seeds() -> tuple[dict[str, bytes], dict[str, bytes]]:
    server_seeds: dict[str, bytes] = {}
    filter_seeds: dict[str, bytes] = {}
    server = load(VECTORS / "cross-shell" / "assertions.json")["server"]
    server_seeds["assertions-server"] = json.dumps(server, indent=1).encode()
    server_seeds["assertions-server-options"] = json.dumps(dict(
        server, token_ttl="600s", path="/t", jwks_path="/k", metadata_path="/m",
        registration_path="/r", assertion_max_lifetime=120, clock_skew_seconds=30,
        allow_legacy_assertion_audience=True, active_kid="as-1",
        registration={"allowed_scope": "orders:read orders:write", "default_scope": "orders:read",
                      "client_secret_ttl": "86400s", "open_registration": True}), indent=1).encode()
    # A stored client record (RawStoredClient), as a client store keeps it.
    server_seeds["client-record"] = json.dumps({
        "client_id": "c1", "token_endpoint_auth_method": "client_secret_post",
        "client_secret_hash": "sha256:" + b64url(hashlib.sha256(b"s").digest()),
        "scope": "a b", "audiences": [ORDERS], "client_id_issued_at": NOW,
        "client_secret_expires_at": 0, "metadata": {"client_name": "x"}}, indent=1).encode()
    provider = load(VECTORS / "cross-shell" / "cases.json")["provider"]
    filter_seeds["cases-provider"] = json.dumps(provider, indent=1).encode()
    filter_seeds["cases-provider-in-filter"] = json.dumps({
        "providers": {"p": provider},
        "rules": [{"match": {"prefix": "/", "methods": ["get"]},
                   "requires": {"provider_name": "p", "scopes": ["orders:read"]}}]},
        indent=1).encode()
    for name, text in envoy_configs():
        doc = json.loads(text)
        filter_seeds[f"envoy-{name}"] = text.encode()
        for pname, p in sorted(doc.get("providers", {}).items()):
            filter_seeds[f"envoy-{name}-provider-{slug(pname)}"] = json.dumps(p, indent=1).encode()
        if "token_endpoint" in doc:
            server_seeds[f"envoy-{name}-token-endpoint"] = json.dumps(
                doc["token_endpoint"], indent=1).encode()
    return server_seeds, filter_seeds


def host_edge_seeds(verify: dict[str, bytes], requests: dict[str, bytes]) -> dict[str, bytes]:
    """Request heads as `name:value` lines (first byte odd, see fuzz_targets/host_edge.rs):
    valid tokens on each kind of route, the token endpoint with the token_request seeds, and
    the bytes the issue names (Latin-1, controls, look-alike names, a tab after Bearer)."""
    token = verify["gen-rs256"]
    seeds = {}

    def head(name: str, method: bytes, path: bytes, *headers: bytes) -> None:
        seeds[name] = b"\x01" + b"\n".join([b":method:" + method, b":path:" + path, *headers])

    for path in (b"/orders/1", b"/public/x", b"/health", b"/elsewhere"):
        slug_ = path.strip(b"/").replace(b"/", b"-").decode()
        head(f"bearer-{slug_}", b"GET", path, b"authorization:Bearer " + token)
        head(f"latin1-{slug_}", b"GET", path, b"authorization:Bearer " + token,
             b"user-agent:caf\xe9 \xff\x80", b"x-\xfe:\x01\x7f")
    head("bearer-tab", b"GET", b"/orders/1", b"authorization:Bearer\t" + token)
    head("bearer-high", b"GET", b"/public/x", b"authorization:Bearer " + token + b"\xe9")
    head("look-alikes", b"POST", b"/orders/1", b"authorization:Bearer " + token,
         b"x_client_id:admin", b"X-Client_ID:admin", b"x_jwt_payload:e30", b"x-scope:orders:write")
    head("basic-on-allow-missing", b"GET", b"/public/x", b"authorization:Basic YTpi")
    head("documents", b"GET", b"/.well-known/jwks.json")
    head("metadata-post", b"POST", b"/.well-known/oauth-authorization-server")
    for name, seed in sorted(requests.items())[:40]:
        # token_request seeds are `method \n content-type \n authorization \n body`.
        parts = seed.split(b"\n", 3) + [b""] * 3
        method, content_type, authorization, body = parts[:4]
        lines = [b"content-type:" + content_type] if content_type else []
        lines += [b"authorization:" + authorization] if authorization else []
        head(f"token-{name}", method or b"POST", b"/oauth/token", *lines, b"x-fuzz-body:" + body)
    # One in the host's own serialized form (first byte even).
    pairs = [(b":method", b"GET"), (b":path", b"/orders/1"), (b"authorization", b"Bearer " + token),
             (b"user-agent", b"\xe9")]
    raw = struct.pack("<I", len(pairs)) + b"".join(struct.pack("<II", len(k), len(v)) for k, v in pairs)
    raw += b"".join(k + b"\0" + v + b"\0" for k, v in pairs)
    seeds["serialized-map"] = b"\x00" + raw
    return seeds


def etcd_answer_seeds() -> dict[str, bytes]:
    """Answer sequences as etcd's v3 gateway gives them (fuzz_targets/etcd_answers.rs: two NUL
    bytes between answers; the first byte of each 1 for a 200, 2 for a 404, 0 for none)."""
    grant = b'\x01{"header":{"revision":"1"},"ID":"7587862","TTL":"90"}'
    ok = b'\x01{"header":{"revision":"2"},"succeeded":true,"responses":[{"response_put":{}}]}'
    seen = b'\x01{"header":{"revision":"3"},"responses":[{"response_range":{"kvs":[{"key":"Z3AvS0VZ","value":"b3RoZXI="}],"count":"1"}}]}'
    gone = b'\x02{"error":"etcdserver: requested lease not found","message":"etcdserver: requested lease not found","code":5}'
    none = b"\x00"
    return {
        "granted-recorded": grant + b"\0\0" + ok,
        "granted-replay": grant + b"\0\0" + seen,
        "lease-gone-then-recorded": grant + b"\0\0" + gone + b"\0\0" + grant + b"\0\0" + ok,
        "no-answer-then-recorded": none + b"\0\0" + grant + b"\0\0" + ok,
        "no-answers": none + b"\0\0" + none + b"\0\0" + none + b"\0\0" + none,
    }


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "seeds")
    args = p.parse_args(argv)
    rsa = rsa_keys()
    assertions = assertion_seeds(rsa)
    server_seeds, filter_seeds = config_seeds()
    verify = token_verify_seeds(rsa)
    requests = token_request_seeds(assertions)
    corpora = {
        "token_verify": verify,
        "token_request": requests,
        "host_edge": host_edge_seeds(verify, requests),
        "basic_header": basic_header_seeds(),
        "client_assertion": {k: v.encode() for k, v in assertions.items()},
        "jwks": jwks_seeds(rsa),
        "config_server": server_seeds,
        "config_filter": filter_seeds,
        "etcd_answers": etcd_answer_seeds(),
    }
    total = 0
    for target, seeds in corpora.items():
        directory = args.out / target
        if directory.exists():
            shutil.rmtree(directory)
        directory.mkdir(parents=True)
        for name, data in sorted(seeds.items()):
            (directory / name).write_bytes(data)
        total += len(seeds)
        print(f"{target}: {len(seeds)} seeds")
    print(f"{total} seed files in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
