#!/usr/bin/env python3
"""Envoy throughput benchmark: gatepass next to Envoy's own `jwt_authn`, side by side.

Run it through `bash bench/envoy.sh [ARGS]` (installs wrk and Envoy, builds the filter), or
directly with `.venv/bin/python bench/envoy_bench.py [ARGS]` once those are in place.

Every contender gets its own Envoy process (`--concurrency 1` by default: one worker thread), one
listener whose only route is a `direct_response` 200, and the same load: `wrk -t1 -c16`, a
warm-up run (not counted) and then the measured run, with EdDSA access tokens signed by
envoy/demo-keys/private.jwk.json (kid `demo-2026`, `typ: at+jwt`, RFC 9068 claims); the
ES256 and RS256 fresh-token contenders use a key generated for the run (kids `bench-es256`,
`bench-rs256`), whose public JWK is in every contender's key set.

Contenders (`--contenders` picks a subset, in this order):

  none                  no auth filter: Envoy's own ceiling
  noop_wasm             a proxy-wasm filter that does nothing (bench/noop-filter.wat): the floor
                        of any wasm filter, and the baseline of "RSS over a do-nothing filter"
  jwt_authn             envoy.filters.http.jwt_authn, no cache, one repeated token
  jwt_authn_cache       the same with `jwt_cache_config: {jwt_cache_size: 1000}`
  gatepass              gatepass, one repeated token (its verified-token cache hits)
  gatepass_fresh        gatepass, a distinct token per request (every request verifies)
  jwt_authn_fresh       jwt_authn without cache, a distinct token per request
  gatepass_no_token     diagnostic: gatepass with a rule that needs no token (the filter's fixed
                        cost per request: V8 call, headers, rule match)
  gatepass_fresh_nocache
                        diagnostic: gatepass_fresh with `jwt_cache_size: 0` (what the cache's
                        insert and eviction add to a fresh token)
  gatepass_fresh_es256  gatepass, a distinct ES256 token per request
  gatepass_fresh_rs256  gatepass, a distinct RS256 token per request
  jwt_authn_fresh_es256, jwt_authn_fresh_rs256
                        jwt_authn without cache, a distinct ES256 / RS256 token per request
  native, native_fresh, native_fresh_es256, native_fresh_rs256, native_no_token
                        the same as the gatepass ones with the native dynamic module
                        (scripts/build-native.sh; `--native PATH`), which reads the same
                        plugin configuration

Memory: the RSS column is Envoy's VmRSS after the measured run. `--concurrency 2` with the
contenders `noop_wasm,gatepass` gives the filter's memory over a do-nothing wasm filter with two
workers (V8 holds one VM per worker plus the main thread's); bench/filter-size.sh does that for
each build setting of the filter.

Before measuring, each contender must answer 200 to its token(s) and 401 with no token and with
a token whose signature was altered (the `none`, `noop_wasm` and `gatepass_no_token` contenders
200 to all),
so a misconfigured filter cannot produce a fast number. After each run the script checks wrk's
non-2xx and socket-error counts (must be 0) and the filter's own counters (how many requests
were allowed, how many from its cache).

Fresh tokens: `--tokens N` distinct tokens per algorithm (distinct `jti`, and `exp` one second
apart in mint order so the gatepass cache, which evicts the entry that expires soonest, behaves
as a FIFO) are written one per line to a file that the wrk Lua script reads in `init()`; it
pre-formats one request per token and `request()` rotates through them, so wrk spends no time
building requests. The measured run starts where the warm-up stopped, and the default N (the
warm-up and the run at 14,000 requests per second per worker) is more than the fastest contender
sends, so no token is sent twice to one Envoy; a run that wraps around is flagged, and the
cache-hit share printed for the gatepass fresh-token contenders shows what the filter saw. Every contender that sends one repeated token
sends the same request bytes (also `none`, `noop_wasm` and `gatepass_no_token`).

Cost per request: besides req/s, the table shows Envoy's CPU time per request (utime+stime of
the whole Envoy process during the run, from /proc/PID/stat, divided by requests), which is
less sensitive to other load on the machine than req/s; differences of that column give the
per-step breakdown printed under the ratios. On a shared 2-core machine single runs vary by
±20 % or more: `--rounds K` runs every contender K times, interleaved, and reports medians.

`--memory-run NAMES` additionally sends `--memory-requests N` (1,000,000) requests through each
named repeated-token contender (a fresh Envoy each, in wrk runs of at most a minute) and prints
Envoy's memory before and after: VmRSS/VmHWM from /proc/PID/status and
`server.memory_allocated` / `server.memory_heap_size` from the admin /stats, and VmRSS after
each run (flat or not); with `native` and `jwt_authn_cache` both, the gap between them.
`--million` is `--memory-run gatepass`.

The token-endpoint contenders (`gatepass_token`, `native_token`) POST
`grant_type=client_credentials` with `client_secret_basic` to /oauth/token (the proxy-wasm
filter behind Envoy's buffer filter on that route, as envoy/token-endpoint.yaml; the native
module reads the body itself); every answer is a freshly minted EdDSA access token. Before the
run: 200 with an access token for the right secret, 401 for a wrong one; after it, the filter's
`token.issued` counter must match wrk's count.
"""

from __future__ import annotations

import argparse
import base64
import json
import math
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "envoy"))

import harness  # noqa: E402  (tests/envoy/harness.py: bootstraps, Envoy process handling)
import tokens  # noqa: E402  (tests/envoy/tokens.py: the demo keys, secret hashes)

try:
    import jwt  # PyJWT (tests/envoy/requirements.txt)
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
except ImportError:  # pragma: no cover
    sys.exit("envoy_bench.py: PyJWT is missing; run `bash scripts/envoy.sh` (or bench/envoy.sh) first")

ISSUER = "https://auth.gatepass.local"
AUDIENCE = "https://orders.gatepass.local"
KID = "demo-2026"
SCOPE = "orders:read"
KEYS = ROOT / "envoy" / "demo-keys"
WASM = harness.WASM_PATH
NOOP_WAT = ROOT / "bench" / "noop-filter.wat"
WASM_AS = ROOT / "filter" / "node_modules" / ".bin" / "wasm-as"  # binaryen (filter/package.json)

# ---------------------------------------------------------------------------------------------
# Tokens (PyJWT): EdDSA with the demo key, ES256 and RS256 with keys generated for the run


@dataclass
class SigningKey:
    alg: str
    kid: str
    key: Any  # a `cryptography` private key
    public_jwk: dict[str, Any]


def _demo_key() -> SigningKey:
    jwk = json.loads((KEYS / "private.jwk.json").read_text())
    if jwk.get("kid") != KID or jwk.get("crv") != "Ed25519":
        sys.exit(f"envoy_bench.py: expected an Ed25519 key with kid {KID} in {KEYS / 'private.jwk.json'}")
    public = next(k for k in json.loads((KEYS / "public.jwks.json").read_text())["keys"] if k.get("kid") == KID)
    return SigningKey("EdDSA", KID, jwt.PyJWK(jwk).key, public)


def _generated_key(alg: str) -> SigningKey:
    if alg == "ES256":
        key: Any = ec.generate_private_key(ec.SECP256R1())
        public = jwt.algorithms.ECAlgorithm.to_jwk(key.public_key(), as_dict=True)
    else:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        public = jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
    kid = f"bench-{alg.lower()}"
    return SigningKey(alg, kid, key, {**public, "kid": kid, "alg": alg, "use": "sig"})


# The algorithms of the fresh-token contenders.
ALGS = ("EdDSA", "ES256", "RS256")
# Fresh tokens minted per algorithm unless --tokens says otherwise: enough for the warm-up and the
# measured run at FRESH_RATE requests per second per Envoy worker, above the fastest contender
# measured here (the native module, about 10,000 fresh EdDSA tokens/s with one worker on the 2-core
# VM). RSA signing makes RS256 tokens the slowest to mint (about 1 ms each).
FRESH_RATE = 14_000


def tokens_for(args: argparse.Namespace, alg: str) -> int:
    workers = getattr(args, "concurrency", 1)
    return args.tokens or math.ceil((args.duration + args.warmup) * FRESH_RATE * workers)


# One key per algorithm the contenders sign with; every contender trusts all of them.
SIGNING_KEYS: dict[str, SigningKey] = {}


def signing_key(alg: str) -> SigningKey:
    if alg not in SIGNING_KEYS:
        SIGNING_KEYS[alg] = _demo_key() if alg == "EdDSA" else _generated_key(alg)
    return SIGNING_KEYS[alg]


def mint(key: SigningKey, *, jti: str, now: int, exp: int) -> str:
    claims = {
        "iss": ISSUER,
        "sub": "bench",
        "aud": AUDIENCE,
        "iat": now,
        "exp": exp,
        "jti": jti,
        "client_id": "bench",
        "scope": SCOPE,
    }
    return jwt.encode(claims, key.key, algorithm=key.alg, headers={"kid": key.kid, "typ": "at+jwt"})


def tampered(token: str) -> str:
    """The token with one signature byte changed (still canonical base64url)."""
    h, p, s = token.split(".")
    i = len(s) // 2
    c = "A" if s[i] != "A" else "B"
    return f"{h}.{p}.{s[:i]}{c}{s[i + 1:]}"


# ---------------------------------------------------------------------------------------------
# Envoy configurations


def public_jwks_text() -> str:
    keys = [signing_key(alg).public_jwk for alg in ("EdDSA", "ES256", "RS256")]
    return json.dumps({"keys": keys}, separators=(",", ":"))


def jwt_authn_filter(*, cache: bool) -> dict[str, Any]:
    provider: dict[str, Any] = {
        "issuer": ISSUER,
        "audiences": [AUDIENCE],
        "local_jwks": {"inline_string": public_jwks_text()},
        "forward": False,
    }
    if cache:
        provider["jwt_cache_config"] = {"jwt_cache_size": 1000}
    return {
        "name": "envoy.filters.http.jwt_authn",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication",
            "providers": {"main": provider},
            "rules": [{"match": {"prefix": "/"}, "requires": {"provider_name": "main"}}],
        },
    }


def gatepass_config(*, require_token: bool = True, cache_size: int | None = None) -> dict[str, Any]:
    """The gatepass provider mirrors the jwt_authn one (issuer, audiences, inline JWKS, forward
    false; no claim headers). gatepass also checks `typ` and the rule's scope on every request."""
    provider = {
        "issuer": ISSUER,
        "audiences": [AUDIENCE],
        "local_jwks": {"inline_string": public_jwks_text()},
        "forward": False,
    }
    rule: dict[str, Any] = {"match": {"prefix": "/"}}
    if require_token:
        rule["requires"] = {"provider_name": "main", "scopes": [SCOPE]}
    config: dict[str, Any] = {"providers": {"main": provider}, "rules": [rule]}
    if cache_size is not None:
        config["jwt_cache_size"] = cache_size
    return config


def gatepass_filter(wasm: Path, *, require_token: bool = True, cache_size: int | None = None) -> dict[str, Any]:
    """The proxy-wasm filter with `gatepass_config`."""
    return harness.wasm_filter(wasm, gatepass_config(require_token=require_token, cache_size=cache_size))


def native_filter(*, require_token: bool = True, cache_size: int | None = None) -> dict[str, Any]:
    """The native dynamic module (libgatepass.so, from $ENVOY_DYNAMIC_MODULES_SEARCH_PATH: see
    `harness.install_native`) with the same `gatepass_config`."""
    return harness.native_filter(gatepass_config(require_token=require_token, cache_size=cache_size))


def native_noop_filter() -> dict[str, Any]:
    """The native module built with its `bench-noop` feature (`scripts/build-native.sh
    --bench-noop`: it returns "continue" at once and enforces nothing), loaded as module
    `gatepass_noop` from the same directory: what Envoy itself spends on calling a dynamic
    module."""
    f = harness.native_filter(gatepass_config(require_token=False))
    f["typed_config"]["dynamic_module_config"]["name"] = "gatepass_noop"
    return f


TOKEN_PATH = "/oauth/token"
TOKEN_CLIENT, TOKEN_SECRET = "bench", "bench-secret-0123456789abcdefghijklmnop"
TOKEN_BASIC = "Basic " + base64.b64encode(f"{TOKEN_CLIENT}:{TOKEN_SECRET}".encode()).decode()
TOKEN_BODY = "grant_type=client_credentials"


def token_endpoint_config() -> dict[str, Any]:
    """`gatepass_config` plus a token endpoint: one `client_secret_basic` client, tokens signed
    with the demo EdDSA key (what the README's token-endpoint row measures)."""
    config = gatepass_config()
    config["token_endpoint"] = {
        "issuer": ISSUER,
        "signing_keys": [tokens.DEMO_PRIVATE_JWK],
        "default_audiences": [AUDIENCE],
        "clients": [
            {
                "client_id": TOKEN_CLIENT,
                "token_endpoint_auth_method": "client_secret_basic",
                "client_secret_hash": tokens.secret_hash(TOKEN_SECRET),
                "scope": SCOPE,
            }
        ],
    }
    return config


def noop_filter(wasm: Path) -> dict[str, Any]:
    """The do-nothing proxy-wasm filter (bench/noop-filter.wat), in its own VM."""
    return harness.wasm_filter(wasm, "{}", name="noop", root_id="noop", vm_id="noop")


def assemble_noop(workdir: Path) -> Path:
    """bench/noop-filter.wat → WORKDIR/noop-filter.wasm (binaryen's wasm-as)."""
    if not os.access(WASM_AS, os.X_OK):
        sys.exit(f"envoy_bench.py: {WASM_AS} missing: run `bash scripts/setup.sh` (binaryen, filter/package.json)")
    out = workdir / "noop-filter.wasm"
    subprocess.run([str(WASM_AS), str(NOOP_WAT), "-o", str(out)], check=True, stdin=subprocess.DEVNULL)
    return out


@dataclass
class Contender:
    name: str
    label: str
    # The HTTP filters, from the arguments (`--wasm`: gatepass's .wasm; `noop_wasm`).
    filters: Callable[[argparse.Namespace], list[dict[str, Any]]]
    fresh: bool = False  # a distinct token per request
    authenticates: bool = True  # 401 without a valid token
    kind: str = ""  # "gatepass" | "jwt_authn" | "noop" | "" (which counters to read)
    alg: str = "EdDSA"  # the fresh tokens' algorithm
    # The whole bootstrap instead of `filters` on the direct-response listener (the token
    # endpoint contenders: their own route, and the buffer filter the proxy-wasm filter needs).
    bootstrap: Callable[[argparse.Namespace], dict[str, Any]] | None = None
    # "token": POST /oauth/token (client_secret_basic, EdDSA mint) instead of GET / with a token.
    endpoint: str = ""


CONTENDERS = [
    Contender("none", "no filter", lambda a: [], authenticates=False),
    Contender("noop_wasm", "do-nothing wasm filter", lambda a: [noop_filter(a.noop_wasm)], authenticates=False, kind="noop"),
    Contender("jwt_authn", "jwt_authn, no cache", lambda a: [jwt_authn_filter(cache=False)], kind="jwt_authn"),
    Contender(
        "jwt_authn_cache", "jwt_authn + jwt_cache_config", lambda a: [jwt_authn_filter(cache=True)], kind="jwt_authn"
    ),
    Contender("gatepass", "gatepass, repeated token", lambda a: [gatepass_filter(a.wasm)], kind="gatepass"),
    Contender(
        "gatepass_fresh", "gatepass, fresh token/request", lambda a: [gatepass_filter(a.wasm)], fresh=True, kind="gatepass"
    ),
    Contender(
        "jwt_authn_fresh",
        "jwt_authn, no cache, fresh token/request",
        lambda a: [jwt_authn_filter(cache=False)],
        fresh=True,
        kind="jwt_authn",
    ),
    Contender(
        "gatepass_no_token",
        "diag: gatepass, rule needs no token",
        lambda a: [gatepass_filter(a.wasm, require_token=False)],
        authenticates=False,
        kind="gatepass",
    ),
    Contender(
        "gatepass_fresh_nocache",
        "diag: gatepass fresh, jwt_cache_size 0",
        lambda a: [gatepass_filter(a.wasm, cache_size=0)],
        fresh=True,
        kind="gatepass",
    ),
    Contender(
        "gatepass_fresh_es256",
        "gatepass, fresh ES256 token/request",
        lambda a: [gatepass_filter(a.wasm)],
        fresh=True,
        kind="gatepass",
        alg="ES256",
    ),
    Contender(
        "gatepass_fresh_rs256",
        "gatepass, fresh RS256 token/request",
        lambda a: [gatepass_filter(a.wasm)],
        fresh=True,
        kind="gatepass",
        alg="RS256",
    ),
    Contender(
        "jwt_authn_fresh_es256",
        "jwt_authn, no cache, fresh ES256 token/request",
        lambda a: [jwt_authn_filter(cache=False)],
        fresh=True,
        kind="jwt_authn",
        alg="ES256",
    ),
    Contender(
        "jwt_authn_fresh_rs256",
        "jwt_authn, no cache, fresh RS256 token/request",
        lambda a: [jwt_authn_filter(cache=False)],
        fresh=True,
        kind="jwt_authn",
        alg="RS256",
    ),
    Contender("native", "native module, repeated token", lambda a: [native_filter()], kind="native"),
    Contender("native_fresh", "native module, fresh token/request", lambda a: [native_filter()], fresh=True, kind="native"),
    Contender(
        "native_fresh_es256",
        "native module, fresh ES256 token/request",
        lambda a: [native_filter()],
        fresh=True,
        kind="native",
        alg="ES256",
    ),
    Contender(
        "native_fresh_rs256",
        "native module, fresh RS256 token/request",
        lambda a: [native_filter()],
        fresh=True,
        kind="native",
        alg="RS256",
    ),
    Contender(
        "native_no_token",
        "diag: native module, rule needs no token",
        lambda a: [native_filter(require_token=False)],
        authenticates=False,
        kind="native",
    ),
    Contender(
        "native_noop",
        "diag: native module that only returns",
        lambda a: [native_noop_filter()],
        authenticates=False,
        kind="native_noop",
    ),
    Contender(
        "jwt_authn_cache_es256",
        "jwt_authn + jwt_cache_config, repeated ES256 token",
        lambda a: [jwt_authn_filter(cache=True)],
        kind="jwt_authn",
        alg="ES256",
    ),
    Contender(
        "jwt_authn_cache_rs256",
        "jwt_authn + jwt_cache_config, repeated RS256 token",
        lambda a: [jwt_authn_filter(cache=True)],
        kind="jwt_authn",
        alg="RS256",
    ),
    Contender("native_es256", "native module, repeated ES256 token", lambda a: [native_filter()], kind="native", alg="ES256"),
    Contender("native_rs256", "native module, repeated RS256 token", lambda a: [native_filter()], kind="native", alg="RS256"),
    Contender(
        "gatepass_token",
        "gatepass token endpoint (client_secret_basic + EdDSA mint)",
        lambda a: [],
        kind="gatepass",
        bootstrap=lambda a: harness.gatepass_bootstrap(a.wasm, token_endpoint_config()),
        endpoint="token",
    ),
    Contender(
        "native_token",
        "native module token endpoint (client_secret_basic + EdDSA mint)",
        lambda a: [],
        kind="native",
        bootstrap=lambda a: harness.gatepass_bootstrap(None, token_endpoint_config()),
        endpoint="token",
    ),
]
# The kinds whose counters are gatepass's (the proxy-wasm filter's and the native module's).
GATEPASS_KINDS = ("gatepass", "native")
BY_NAME = {c.name: c for c in CONTENDERS}


# ---------------------------------------------------------------------------------------------
# wrk

# Reports the numbers as one JSON line (wrk's text output rounds and uses units).
LUA_DONE = r"""
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_us":%d,"bytes":%d,"non2xx":%d,"connect":%d,"read":%d,"write":%d,"timeout":%d,"p50_us":%d,"p99_us":%d,"max_us":%d}\n',
    summary.requests, summary.duration, summary.bytes, e.status, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max))
end
"""

# One pre-formatted request per token (read from the file given after `--`), rotated, starting
# after the first OFFSET tokens (`-- FILE OFFSET THREADS`): the measured run continues where the
# warm-up (a separate wrk process) stopped, so it does not resend tokens the filter may still
# cache. With several wrk threads, thread k sends tokens OFFSET+k, OFFSET+k+THREADS, ...
LUA_FRESH = r"""
local next_tid = 0
setup = function(thread)
  thread:set("tid", next_tid)
  next_tid = next_tid + 1
end

local reqs = {}
local n = 0
local i = 0
local step = 1
init = function(args)
  for line in io.lines(args[1]) do
    if #line > 0 then
      wrk.headers["Authorization"] = "Bearer " .. line
      n = n + 1
      reqs[n] = wrk.format()
    end
  end
  wrk.headers["Authorization"] = nil
  if n == 0 then error("no tokens in " .. args[1]) end
  step = tonumber(args[3] or "1")
  i = tonumber(args[2] or "0") + (tid or 0)
end
request = function()
  local r = reqs[i % n + 1]
  i = i + step
  return r
end
"""


@dataclass
class WrkResult:
    requests: int
    seconds: float
    non2xx: int
    socket_errors: int
    p50_us: int
    p99_us: int
    max_us: int
    wrk_cpu: float  # wrk's CPU seconds during the run
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def run_wrk(
    url: str,
    seconds: float,
    script: Path,
    *,
    token: str | None,
    tokens_file: Path | None,
    threads: int,
    conns: int,
    offset: int = 0,
) -> WrkResult:
    args = ["wrk", f"-t{threads}", f"-c{conns}", f"-d{max(1, round(seconds))}s", "--timeout", "5s", "-s", str(script)]
    if token is not None:
        args += ["-H", f"Authorization: Bearer {token}"]
    args.append(url)
    if tokens_file is not None:
        args += ["--", str(tokens_file), str(offset), str(threads)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    p = subprocess.run(args, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=seconds + 120)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    line = next((l for l in p.stdout.splitlines() if l.startswith("WRKJSON ")), None)
    if p.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({p.returncode}):\n{p.stdout}\n{p.stderr}")
    d = json.loads(line[len("WRKJSON ") :])
    return WrkResult(
        requests=d["requests"],
        seconds=d["duration_us"] / 1e6,
        non2xx=d["non2xx"],
        socket_errors=d["connect"] + d["read"] + d["write"] + d["timeout"],
        p50_us=d["p50_us"],
        p99_us=d["p99_us"],
        max_us=d["max_us"],
        wrk_cpu=(after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime),
        raw=d,
    )


# ---------------------------------------------------------------------------------------------
# Envoy process figures


def cpu_seconds(pid: int) -> float:
    """utime + stime of the whole process (all threads), in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    # After the comm field: state is fields[0]; utime, stime are stat fields 14, 15.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def proc_status(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM in KiB."""
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            out[name] = int(value.split()[0])
    return out


def memory(envoy: harness.Envoy) -> dict[str, int]:
    stats = envoy.stats(filter=r"^server\.memory_")
    m = proc_status(envoy.proc.pid)
    m["memory_allocated"] = int(stats.get("server.memory_allocated", 0))
    m["memory_heap_size"] = int(stats.get("server.memory_heap_size", 0))
    return m


def counters(envoy: harness.Envoy, kind: str) -> dict[str, int]:
    if kind in GATEPASS_KINDS:
        # Either shell's counters (harness.Envoy.counters), without `gatepass.`.
        return {k.removeprefix("gatepass."): v for k, v in envoy.counters().items()}
    if kind == "jwt_authn":
        s = envoy.stats(filter=r"jwt_authn\.")
        return {k.split("jwt_authn.", 1)[1]: v for k, v in s.items() if isinstance(v, int)}
    return {}


# ---------------------------------------------------------------------------------------------
# One contender


class BenchError(RuntimeError):
    pass


@dataclass
class Outcome:
    contender: Contender
    result: WrkResult | None = None
    envoy_cpu: float = 0.0
    rss_kib: int = 0
    counters: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def rps(self) -> float:
        return self.result.rps if self.result else 0.0

    @property
    def cpu_us_per_request(self) -> float:
        return 1e6 * self.envoy_cpu / self.result.requests if self.result and self.result.requests else 0.0

    def note(self) -> str:
        c = self.counters
        parts = []
        if self.contender.kind in GATEPASS_KINDS and self.contender.authenticates:
            allowed = c.get("allowed", 0)
            cached = c.get("allowed_cached", 0)
            if allowed:
                parts.append(f"cache hits {100 * cached / allowed:.1f}% of {allowed}")
        elif self.contender.kind in GATEPASS_KINDS:
            parts.append(f"no_requirement {c.get('no_requirement', 0)}")
        elif self.contender.kind == "jwt_authn":
            parts.append(f"allowed {c.get('allowed', 0)}")
            if c.get("jwt_cache_hit") or c.get("jwt_cache_miss"):
                hit, miss = c.get("jwt_cache_hit", 0), c.get("jwt_cache_miss", 0)
                parts.append(f"cache hits {100 * hit / max(1, hit + miss):.1f}%")
        return ", ".join(parts + self.problems)


@dataclass
class Summary:
    """A contender over all rounds: median req/s, median CPU per request and median RSS; the
    latencies and counters of the median run; every run's problems."""

    contender: Contender
    runs: list[Outcome]

    @property
    def ok_runs(self) -> list[Outcome]:
        return [r for r in self.runs if r.result is not None]

    @property
    def median_run(self) -> Outcome | None:
        ok = sorted(self.ok_runs, key=lambda r: r.rps)
        return ok[(len(ok) - 1) // 2] if ok else None

    @property
    def result(self) -> WrkResult | None:
        m = self.median_run
        return m.result if m else None

    @property
    def rps(self) -> float:
        ok = self.ok_runs
        return statistics.median(r.rps for r in ok) if ok else 0.0

    @property
    def rps_range(self) -> tuple[float, float]:
        ok = [r.rps for r in self.ok_runs]
        return (min(ok), max(ok)) if ok else (0.0, 0.0)

    @property
    def cpu_us_per_request(self) -> float:
        ok = self.ok_runs
        return statistics.median(r.cpu_us_per_request for r in ok) if ok else 0.0

    @property
    def rss_kib(self) -> int:
        ok = [r.rss_kib for r in self.ok_runs]
        return int(statistics.median(ok)) if ok else 0

    @property
    def problems(self) -> list[str]:
        return [p for r in self.runs for p in r.problems]

    def note(self) -> str:
        m = self.median_run
        if m is None:
            return "; ".join(self.problems)
        return ", ".join(x for x in [m.note()] + [p for r in self.runs if r is not m for p in r.problems] if x)


def check_token_answers(envoy: harness.Envoy, c: Contender) -> None:
    """The token endpoint contenders: 200 with an access token for the bench client's secret,
    401 for a wrong one."""
    form = {"content-type": "application/x-www-form-urlencoded"}
    r = envoy.post(TOKEN_PATH, headers={**form, "authorization": TOKEN_BASIC}, body=TOKEN_BODY)
    if r.status != 200 or "access_token" not in r.json():
        raise BenchError(f"{c.name}: the token request answered {r.status} {r.body[:200]!r}\n{envoy.log_tail(30)}")
    wrong = "Basic " + base64.b64encode(f"{TOKEN_CLIENT}:wrong".encode()).decode()
    r = envoy.post(TOKEN_PATH, headers={**form, "authorization": wrong}, body=TOKEN_BODY)
    if r.status != 401:
        raise BenchError(f"{c.name}: a wrong secret answered {r.status}, expected 401")


def check_answers(envoy: harness.Envoy, c: Contender, good: list[str]) -> None:
    """200 for each good token; 401 without a token and with a tampered one (if the contender
    authenticates at all). Fails loudly: a wrong answer here would make the numbers meaningless."""
    if c.endpoint == "token":
        return check_token_answers(envoy, c)

    def get(token: str | None) -> int:
        headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
        return envoy.get("/", headers=headers).status

    expect_bad = 401 if c.authenticates else 200
    checks = [(f"token {i + 1}", t, 200) for i, t in enumerate(good)]
    checks += [("no token", None, expect_bad), ("tampered token", tampered(good[0]), expect_bad)]
    for what, token, want in checks:
        got = get(token)
        if got != want:
            raise BenchError(f"{c.name}: {what} answered {got}, expected {want}\n{envoy.log_tail(30)}")


def start_envoy(c: Contender, args: argparse.Namespace) -> harness.Envoy:
    config = c.bootstrap(args) if c.bootstrap else harness.bootstrap(http_filters=c.filters(args))
    return harness.Envoy.start(config, args.workdir, name=c.name, concurrency=args.concurrency, log_level="warning")


def run_contender(c: Contender, args: argparse.Namespace, ctx: dict[str, Any]) -> Outcome:
    out = Outcome(c)
    envoy = start_envoy(c, args)
    try:
        good = ctx["fresh_probe"][c.alg] if c.fresh else [ctx["repeated"][c.alg]]
        check_answers(envoy, c, good)
        script = ctx["lua_fresh"] if c.fresh else ctx["lua_token"] if c.endpoint == "token" else ctx["lua_static"]
        url = envoy.url + (TOKEN_PATH if c.endpoint == "token" else "/")
        wrk_kw: dict[str, Any] = dict(
            token=None if c.fresh or c.endpoint == "token" else ctx["repeated"][c.alg],
            tokens_file=ctx["tokens_file"][c.alg] if c.fresh else None,
            threads=args.threads,
            conns=args.connections,
        )
        offset = 0
        if args.warmup > 0:
            w = run_wrk(url, args.warmup, script, **wrk_kw)
            # wrk does not count the requests still in flight when it stops (at most one per
            # connection): skip those tokens too.
            offset = w.requests + args.connections
        before = counters(envoy, c.kind)
        cpu0 = cpu_seconds(envoy.proc.pid)
        out.result = run_wrk(url, args.duration, script, offset=offset, **wrk_kw)
        out.envoy_cpu = cpu_seconds(envoy.proc.pid) - cpu0
        if c.fresh and offset + out.result.requests + args.connections > tokens_for(args, c.alg):
            out.problems.append(f"token rotation wrapped (raise --tokens above {offset + out.result.requests:,})")
        out.rss_kib = proc_status(envoy.proc.pid).get("VmRSS", 0)
        after = counters(envoy, c.kind)
        out.counters = {k: v - before.get(k, 0) for k, v in after.items()}
        # The filter under test really decided these requests (within the requests in flight
        # at the run's edges, which wrk does not count).
        decided = out.counters.get(
            "token.issued" if c.endpoint == "token" else "allowed" if c.authenticates else "no_requirement", 0
        )
        if c.kind in (*GATEPASS_KINDS, "jwt_authn") and abs(decided - out.result.requests) > 2 * args.connections:
            out.problems.append(f"FILTER COUNTED {decided} REQUESTS, wrk {out.result.requests}")
        if out.result.non2xx:
            out.problems.append(f"NON-2XX {out.result.non2xx}")
        if out.result.socket_errors:
            out.problems.append(f"SOCKET ERRORS {out.result.raw}")
        if not envoy.running:
            out.problems.append("ENVOY EXITED")
    finally:
        envoy.stop()
    return out


def memory_run(args: argparse.Namespace, ctx: dict[str, Any], name: str, target: int, rps_hint: float) -> dict[str, Any]:
    """`target` requests through the repeated-token contender `name` (a fresh Envoy), in wrk runs
    of at most a minute; Envoy's memory before, after each run, and after."""
    c = BY_NAME[name]
    if c.fresh or c.endpoint:
        raise BenchError(f"--memory-run takes repeated-token contenders, not {name}")
    envoy = start_envoy(c, args)
    try:
        check_answers(envoy, c, [ctx["token"]])
        before = memory(envoy)
        total = non2xx = errors = 0
        runs = 0
        samples: list[tuple[int, int]] = []
        wall = time.monotonic()
        rate = rps_hint or 20_000.0
        while total < target:
            remaining = target - total
            seconds = min(60, max(3, math.ceil(remaining / rate * 1.05)))
            r = run_wrk(
                envoy.url + "/", seconds, ctx["lua_static"], token=ctx["token"], tokens_file=None,
                threads=args.threads, conns=args.connections,
            )  # fmt: skip
            runs += 1
            total += r.requests
            non2xx += r.non2xx
            errors += r.socket_errors
            rate = max(1000.0, r.rps)
            rss = proc_status(envoy.proc.pid).get("VmRSS", 0)
            samples.append((total, rss))
            print(f"  {name} run {runs}: {r.requests:,} requests at {r.rps:,.0f} req/s (total {total:,}), RSS {rss / 1024:.1f} MiB", flush=True)
        wall = time.monotonic() - wall
        after = memory(envoy)
        stats = counters(envoy, c.kind)
        return {
            "contender": name,
            "requests": total,
            "runs": runs,
            "seconds": wall,
            "non2xx": non2xx,
            "socket_errors": errors,
            "before": before,
            "after": after,
            "rss_samples": samples,
            "allowed": stats.get("allowed", 0),
            "allowed_cached": stats.get("allowed_cached", 0),
        }
    finally:
        envoy.stop()


# ---------------------------------------------------------------------------------------------
# Report


def rss_over_noop(outcomes: dict[str, Summary]) -> int | None:
    """VmRSS of the gatepass repeated-token contender less the do-nothing wasm filter's, in KiB."""
    g, n = outcomes.get("gatepass"), outcomes.get("noop_wasm")
    if not (g and n and g.rss_kib and n.rss_kib):
        return None
    return g.rss_kib - n.rss_kib


def fmt_ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}x" if a and b else "n/a"


def report(outcomes: dict[str, Summary], args: argparse.Namespace, wasm_size: int, mem: list[dict[str, Any]]) -> int:
    print()
    print(
        f"Envoy {args.envoy_version}, --concurrency {args.concurrency}, direct_response 200; wrk -t{args.threads} "
        f"-c{args.connections} -d{args.duration:g}s (+{args.warmup:g}s warm-up); EdDSA tokens unless named"
        + (f"; {args.rounds} rounds, medians" if args.rounds > 1 else "")
    )
    spread = args.rounds > 1
    rng_head = f"{'min–max req/s':>15} " if spread else ""
    head = f"{'contender':<42} {'req/s':>9} {rng_head}{'non-2xx':>8} {'p50 ms':>7} {'p99 ms':>7} {'envoy CPU µs/req':>16} {'wrk CPU':>7} {'RSS MiB':>7}  notes"
    print(head)
    print("-" * len(head))
    for o in outcomes.values():
        r = o.result
        if r is None:
            print(f"{o.contender.label:<42} {'FAILED':>9}  {'; '.join(o.problems)}")
            continue
        wrk_cpu = f"{100 * r.wrk_cpu / r.seconds:.0f}%" if r.seconds else "?"
        lo, hi = o.rps_range
        rng = f"{f'{lo:,.0f}–{hi:,.0f}':>15} " if spread else ""
        print(
            f"{o.contender.label:<42} {o.rps:>9,.0f} {rng}{sum(x.result.non2xx for x in o.ok_runs if x.result):>8} {r.p50_us / 1000:>7.2f} {r.p99_us / 1000:>7.2f} "
            f"{o.cpu_us_per_request:>16.1f} {wrk_cpu:>7} {o.rss_kib / 1024:>7.1f}  {o.note()}"
        )

    def rps(name: str) -> float:
        o = outcomes.get(name)
        return o.rps if o and o.result and not o.problems else 0.0

    ratios = [
        ("repeated-token gatepass / jwt_authn with cache", "gatepass", "jwt_authn_cache", 1.0),
        ("fresh-token gatepass / jwt_authn without cache", "gatepass_fresh", "jwt_authn", 0.5),
        ("fresh-token gatepass / fresh-token jwt_authn (no cache)", "gatepass_fresh", "jwt_authn_fresh", None),
        ("fresh ES256 gatepass / fresh ES256 jwt_authn", "gatepass_fresh_es256", "jwt_authn_fresh_es256", None),
        ("fresh RS256 gatepass / fresh RS256 jwt_authn", "gatepass_fresh_rs256", "jwt_authn_fresh_rs256", None),
        ("repeated-token native / jwt_authn with cache", "native", "jwt_authn_cache", 1.0),
        ("repeated ES256 native / jwt_authn with cache", "native_es256", "jwt_authn_cache_es256", 1.0),
        ("repeated RS256 native / jwt_authn with cache", "native_rs256", "jwt_authn_cache_rs256", 1.0),
        ("fresh EdDSA native / fresh EdDSA jwt_authn", "native_fresh", "jwt_authn_fresh", 1.0),
        ("fresh ES256 native / fresh ES256 jwt_authn", "native_fresh_es256", "jwt_authn_fresh_es256", 1.0),
        ("fresh RS256 native / fresh RS256 jwt_authn", "native_fresh_rs256", "jwt_authn_fresh_rs256", 1.0),
        ("token endpoint native / proxy-wasm (basic + EdDSA mint)", "native_token", "gatepass_token", None),
    ]
    print()
    print("Ratios (req/s)")
    for label, a, b, target in ratios:
        value = fmt_ratio(rps(a), rps(b))
        verdict = ""
        if target is not None and rps(a) and rps(b):
            verdict = f"  target >= {target:.1f}: {'met' if rps(a) / rps(b) >= target else 'MISSED'}"
        elif target is not None:
            verdict = f"  target >= {target:.1f}"
        print(f"  {label:<58} {value:>7}{verdict}")

    # Per-request cost breakdown: Envoy CPU µs/request differences.
    def cpu(name: str) -> float:
        o = outcomes.get(name)
        return o.cpu_us_per_request if o and o.result else 0.0

    steps = [
        ("Envoy alone (no filter)", "none", None),
        ("gatepass fixed cost (V8 call, headers, rule match)", "gatepass_no_token", "none"),
        ("gatepass cached token (hash + lookup + scope)", "gatepass", "gatepass_no_token"),
        ("gatepass fresh token (parse + EdDSA verify + cache insert)", "gatepass_fresh", "gatepass_no_token"),
        ("  of which cache insert/evict", "gatepass_fresh", "gatepass_fresh_nocache"),
        ("jwt_authn with cache, cached token", "jwt_authn_cache", "none"),
        ("jwt_authn fresh token (native EdDSA verify)", "jwt_authn_fresh", "none"),
        ("jwt_authn repeated token, no cache", "jwt_authn", "none"),
        ("native module fixed cost (call, headers, rule match)", "native_no_token", "none"),
        ("  of which Envoy's (a module that only returns)", "native_noop", "none"),
        ("  of which the module's (headers, rule match, counter)", "native_no_token", "native_noop"),
        ("native module cached token (hash + lookup + scope)", "native", "native_no_token"),
        ("native module fresh token (parse + EdDSA verify + cache insert)", "native_fresh", "native_no_token"),
    ]
    lines = []
    for label, a, b in steps:
        if cpu(a) and (b is None or cpu(b)):
            lines.append(f"  {label:<62} {cpu(a) - (cpu(b) if b else 0):>8.1f} µs")
    if lines:
        print()
        print("Envoy CPU per request (differences of the 'envoy CPU µs/req' column)")
        if args.rounds == 1:
            print("  (one run each: differences of a few µs are noise here; --rounds 3 gives medians)")
        print("\n".join(lines))

    print()
    print(f"gatepass filter .wasm: {wasm_size:,} bytes ({wasm_size / 1024:.0f} KiB) {args.wasm}")
    over = rss_over_noop(outcomes)
    if over is not None:
        print(
            f"RSS over the do-nothing wasm filter (gatepass repeated token, --concurrency {args.concurrency}): "
            f"{over / 1024:.1f} MiB"
        )

    for m in mem:
        b, a = m["before"], m["after"]
        print()
        print(
            f"Memory, {BY_NAME[m['contender']].label}, {m['requests']:,} requests in {m['runs']} wrk runs "
            f"({m['seconds']:.0f} s, non-2xx {m['non2xx']}, socket errors {m['socket_errors']}; "
            f"allowed {m['allowed']:,}, from cache {m['allowed_cached']:,})"
        )
        rows = [
            ("VmRSS (KiB)", "VmRSS"),
            ("VmHWM (KiB)", "VmHWM"),
            ("server.memory_allocated (bytes)", "memory_allocated"),
            ("server.memory_heap_size (bytes)", "memory_heap_size"),
        ]
        print(f"  {'':<34} {'before':>14} {'after':>14} {'delta':>12}")
        for label, key in rows:
            print(f"  {label:<34} {b.get(key, 0):>14,} {a.get(key, 0):>14,} {a.get(key, 0) - b.get(key, 0):>+12,}")
        rss = [kib for _, kib in m["rss_samples"]]
        first = next((kib for n, kib in m["rss_samples"] if n >= m["requests"] // 10), rss[0])
        print(
            f"  VmRSS after each run: {min(rss) / 1024:.1f}–{max(rss) / 1024:.1f} MiB; from 10 % of the requests "
            f"to the end {first / 1024:.1f} → {rss[-1] / 1024:.1f} MiB ({(rss[-1] - first) / 1024:+.1f} MiB)"
        )
    by_name = {m["contender"]: m for m in mem}
    if "native" in by_name and "jwt_authn_cache" in by_name:
        gap = by_name["native"]["after"].get("VmRSS", 0) - by_name["jwt_authn_cache"]["after"].get("VmRSS", 0)
        print(f"  native VmRSS − jwt_authn VmRSS at the end: {gap / 1024:+.1f} MiB (target ≤ +10 MiB: {'met' if gap <= 10 * 1024 else 'MISSED'})")

    failed = [o.contender.name for o in outcomes.values() if o.result is None or o.problems]
    failed += [f"memory run {m['contender']}" for m in mem if m["non2xx"] or m["socket_errors"]]
    if failed:
        print(f"\nPROBLEMS in: {', '.join(failed)}")
        return 1
    return 0


def results_json(outcomes: dict[str, Summary], args: argparse.Namespace, wasm_size: int, mem: list[dict[str, Any]]) -> dict:
    return {
        "envoy": args.envoy_version,
        "concurrency": args.concurrency,
        "rss_over_noop_kib": rss_over_noop(outcomes),
        "wrk": {"threads": args.threads, "connections": args.connections, "duration_s": args.duration, "warmup_s": args.warmup},
        "tokens": {alg: tokens_for(args, alg) for alg in ALGS},
        "wasm_bytes": wasm_size,
        "contenders": {
            name: {
                "label": o.contender.label,
                "rps": o.rps,
                "rps_runs": [r.rps for r in o.runs],
                "envoy_cpu_us_per_request_runs": [r.cpu_us_per_request for r in o.runs],
                "requests": o.result.requests if o.result else 0,
                "non2xx": o.result.non2xx if o.result else None,
                "socket_errors": o.result.socket_errors if o.result else None,
                "p50_us": o.result.p50_us if o.result else None,
                "p99_us": o.result.p99_us if o.result else None,
                "envoy_cpu_us_per_request": o.cpu_us_per_request,
                "wrk_cpu_s": o.result.wrk_cpu if o.result else None,
                "rss_kib": o.rss_kib,
                "counters": o.median_run.counters if o.median_run else {},
                "problems": o.problems,
            }
            for name, o in outcomes.items()
        },
        "memory_runs": mem,
    }


# ---------------------------------------------------------------------------------------------


def prepare(args: argparse.Namespace, names: list[str]) -> dict[str, Any]:
    """The tokens and wrk scripts the contenders `names` need, written under args.workdir."""
    # Tokens: one repeated per algorithm in use (EdDSA always); and N fresh ones per algorithm
    # in use, exp one second apart in mint order.
    now = int(time.time())
    ctx: dict[str, Any] = {
        "token": mint(signing_key("EdDSA"), jti="bench-repeated", now=now, exp=now + 3600),
        "tokens_file": {},
        "fresh_probe": {},
    }
    ctx["repeated"] = {"EdDSA": ctx["token"]}
    for alg in dict.fromkeys(BY_NAME[n].alg for n in names if not BY_NAME[n].fresh):
        if alg not in ctx["repeated"]:
            ctx["repeated"][alg] = mint(signing_key(alg), jti=f"bench-repeated-{alg.lower()}", now=now, exp=now + 3600)
    for alg in dict.fromkeys(BY_NAME[n].alg for n in names if BY_NAME[n].fresh):
        key = signing_key(alg)
        t0 = time.monotonic()
        fresh = [mint(key, jti=f"bench-{i:07d}", now=now, exp=now + 3600 + i) for i in range(tokens_for(args, alg))]
        tokens_file = args.workdir / f"fresh-tokens-{alg.lower()}.txt"
        tokens_file.write_text("\n".join(fresh) + "\n")
        ctx["tokens_file"][alg] = tokens_file
        # Checked before each fresh run; not in the rotation's first stretch, so the check does
        # not pre-fill the cache with tokens the run is about to send.
        ctx["fresh_probe"][alg] = [mint(key, jti=f"bench-probe-{i}", now=now, exp=now + 3600) for i in range(2)]
        print(f"minted {len(fresh):,} fresh {alg} tokens in {time.monotonic() - t0:.1f} s -> {tokens_file}", flush=True)
    lua_static = args.workdir / "static.lua"
    lua_static.write_text(LUA_DONE)
    lua_fresh = args.workdir / "fresh.lua"
    lua_fresh.write_text(LUA_FRESH + LUA_DONE)
    ctx["lua_static"], ctx["lua_fresh"] = lua_static, lua_fresh
    lua_token = args.workdir / "token.lua"
    lua_token.write_text(
        f'wrk.method = "POST"\nwrk.body = "{TOKEN_BODY}"\n'
        'wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"\n'
        f'wrk.headers["Authorization"] = "{TOKEN_BASIC}"\n' + LUA_DONE
    )
    ctx["lua_token"] = lua_token
    return ctx


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(
        description="Envoy throughput: gatepass vs jwt_authn (see the module docstring)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("-d", "--duration", type=float, default=10.0, help="measured seconds per contender (10)")
    p.add_argument("--warmup", type=float, default=2.0, help="warm-up seconds per contender, not counted (2)")
    p.add_argument("--connections", type=int, default=16, help="wrk -c (16)")
    p.add_argument("--threads", type=int, default=1, help="wrk -t (1)")
    p.add_argument("--concurrency", type=int, default=1, help="Envoy worker threads (1)")
    p.add_argument(
        "--rounds", type=int, default=1, help="run every contender this many times, interleaved; report medians (1)"
    )
    p.add_argument(
        "--tokens",
        type=int,
        help="distinct tokens per algorithm for the fresh-token runs (default: (duration + warm-up) x 14000/s x workers)",
    )
    p.add_argument(
        "--contenders",
        default=",".join(c.name for c in CONTENDERS),
        help="comma-separated subset of: " + ", ".join(c.name for c in CONTENDERS),
    )
    p.add_argument("--million", action="store_true", help="also: memory before/after 1,000,000 requests (gatepass); = --memory-run gatepass")
    p.add_argument("--memory-run", default="", help="also: memory over --memory-requests requests through each of these repeated-token contenders (comma-separated)")
    p.add_argument("--memory-requests", type=int, default=1_000_000, help="requests per --memory-run contender (1,000,000)")
    p.add_argument("--wasm", type=Path, default=Path(os.environ.get("GATEPASS_FILTER_WASM", WASM)))
    p.add_argument(
        "--native",
        type=Path,
        default=Path(os.environ.get("GATEPASS_NATIVE_SO", ROOT / "target" / "native" / "libgatepass.so")),
        help="the native module (scripts/build-native.sh)",
    )
    p.add_argument(
        "--noop-wasm", type=Path, help="the do-nothing filter's .wasm (default: bench/noop-filter.wat, assembled)"
    )
    p.add_argument("--workdir", type=Path, default=ROOT / "target" / "bench-envoy", help="configs, logs, tokens")
    p.add_argument("--json", type=Path, help="also write the results here (default: WORKDIR/results.json)")
    args = p.parse_args(argv)

    names = [n.strip() for n in args.contenders.split(",") if n.strip()]
    unknown = [n for n in names if n not in BY_NAME]
    if unknown:
        p.error(f"unknown contender(s): {', '.join(unknown)}")
    args.memory_run = [n.strip() for n in args.memory_run.split(",") if n.strip()]
    if args.million and "gatepass" not in args.memory_run:
        args.memory_run.append("gatepass")
    unknown = [n for n in args.memory_run if n not in BY_NAME]
    if unknown:
        p.error(f"unknown --memory-run contender(s): {', '.join(unknown)}")
    if shutil.which("wrk") is None:
        sys.exit("envoy_bench.py: wrk is not installed (bench/envoy.sh installs it: bash scripts/install-deb.sh wrk)")
    if not os.access(harness.ENVOY_BIN, os.X_OK):
        sys.exit(f"envoy_bench.py: {harness.ENVOY_BIN} missing: run `bash scripts/envoy.sh` first")
    needs_wasm = any(BY_NAME[n].kind == "gatepass" for n in names + args.memory_run)
    if needs_wasm and not args.wasm.is_file():
        sys.exit(f"envoy_bench.py: {args.wasm} missing: bash scripts/build-filter.sh")
    args.workdir.mkdir(parents=True, exist_ok=True)
    if any(BY_NAME[n].kind.startswith("native") for n in names + args.memory_run):
        if not args.native.is_file():
            sys.exit(f"envoy_bench.py: {args.native} missing: bash scripts/build-native.sh")
        installed = harness.install_native(args.native, args.workdir / "native-module")
        if "native_noop" in names:
            # The bench-only build, beside the real one (built now: scripts/build-native.sh
            # rebuilds only the module's own crate for the feature).
            noop = subprocess.run(
                ["bash", str(ROOT / "scripts" / "build-native.sh"), "--bench-noop"],
                check=True, capture_output=True, text=True,
            ).stdout.strip().splitlines()[-1]
            shutil.copyfile(noop, installed.parent / "libgatepass_noop.so")
    if "noop_wasm" in names and args.noop_wasm is None:
        args.noop_wasm = assemble_noop(args.workdir)
    version = subprocess.run([str(harness.ENVOY_BIN), "--version"], capture_output=True, text=True).stdout
    # "envoy  version: <sha>/1.40.0/Clean/RELEASE/BoringSSL"
    words = version.split()
    after_label = words[words.index("version:") + 1] if "version:" in words else ""
    args.envoy_version = after_label.split("/")[1] if after_label.count("/") >= 2 else "?"

    ctx = prepare(args, names)

    outcomes = {name: Summary(BY_NAME[name], []) for name in names}
    for round_ in range(1, args.rounds + 1):
        for name in names:
            c = BY_NAME[name]
            tag = f" [round {round_}/{args.rounds}]" if args.rounds > 1 else ""
            print(f"running {name} ({c.label}){tag} ...", flush=True)
            try:
                o = run_contender(c, args, ctx)
            except (BenchError, harness.EnvoyStartError, RuntimeError, OSError, subprocess.TimeoutExpired) as e:
                o = Outcome(c, problems=[f"FAILED: {e}"])
                print(f"  {name}: FAILED: {e}", file=sys.stderr, flush=True)
            else:
                print(
                    f"  {o.rps:,.0f} req/s, non-2xx {o.result.non2xx if o.result else '?'}, "
                    f"Envoy CPU {o.cpu_us_per_request:.1f} µs/req",
                    flush=True,
                )
            outcomes[name].runs.append(o)

    mem: list[dict[str, Any]] = []
    for name in args.memory_run:
        print(f"running {args.memory_requests:,} requests through {name} ...", flush=True)
        try:
            mem.append(memory_run(args, ctx, name, args.memory_requests, outcomes[name].rps if name in outcomes else 0.0))
        except (BenchError, harness.EnvoyStartError, RuntimeError, OSError, subprocess.TimeoutExpired) as e:
            print(f"  memory run {name}: FAILED: {e}", file=sys.stderr, flush=True)
            outcomes.setdefault(f"memory-{name}", Summary(BY_NAME[name], [Outcome(BY_NAME[name], problems=[f"memory run FAILED: {e}"])]))

    wasm_size = args.wasm.stat().st_size if args.wasm.is_file() else 0
    rc = report(outcomes, args, wasm_size, mem)
    out_json = args.json or args.workdir / "results.json"
    out_json.write_text(json.dumps(results_json(outcomes, args, wasm_size, mem), indent=1) + "\n")
    print(f"results: {out_json}")
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
