"""Both Envoy shells where they meet their host (issue 10, DESIGN.md principle 6), in real Envoy
(the tests on the `envoy` fixture run with the proxy-wasm filter and with the native module): bytes
that are not UTF-8 anywhere a client can put them, token requests ending in trailers (HTTP/2 and
HTTP/1.1 chunked), header names that upstreams fold onto the filter's own, `allow_missing`
requests that must not carry an unverified credential upstream, a tab after `Bearer`, and a
provider moved to another JWKS URL by a configuration change.

Every route leads to the echo upstream unless said otherwise, so anything the filter let
through shows up in `upstream.requests`. Requests go out as raw bytes (rawhttp.py).
"""

from __future__ import annotations

import base64
import json
import random
import time
from pathlib import Path
from urllib.parse import urlencode

import pytest

import harness
import tokens
from rawhttp import http1, h2c
from test_token_endpoint import POSTER_SECRET, TOKEN_PATH, server_config, token_bootstrap

FORM = (b"content-type", b"application/x-www-form-urlencoded")
GOOD_FORM = urlencode(
    {"grant_type": "client_credentials", "client_id": "poster", "client_secret": POSTER_SECRET}
).encode()
# What a crashed VM looks like in Envoy's log (a wasm trap), or the filter's panic hook.
CRASH_MARKS = ("panic", "unreachable", "RuntimeError", "wasm trap", "Wasm VM failed")


def bearer(token: str) -> bytes:
    return b"Bearer " + token.encode()


def enforcing_config(**provider_overrides):
    # Rules in the fields every filter version reads (so these tests also run against a filter
    # built before the host-edge fixes, and fail there); /echo is a route no rule covers.
    rules = [
        {"match": {"prefix": "/orders", "methods": ["POST", "PUT", "PATCH", "DELETE"]},
         "requires": {"provider_name": "main", "scopes": ["orders:write"]}},
        {"match": {"prefix": "/orders"}, "requires": {"provider_name": "main", "scopes": ["orders:read"]}},
        {"match": {"prefix": "/public"}, "allow_missing": {"provider_name": "main"}},
    ]
    return harness.plugin_config(
        {"main": harness.provider(jwks=tokens.DEMO_PUBLIC_JWKS, **provider_overrides)},
        rules,
        token_endpoint=server_config()["token_endpoint"],
    )


@pytest.fixture(scope="module")
def envoy(module_shell, module_envoy_factory, module_upstream):
    """Token endpoint + enforcement, two workers, every route to the echo upstream, HTTP/1.1
    trailers enabled (Envoy drops them otherwise), h2c by prior knowledge (codec AUTO); once
    with each shell (the proxy-wasm filter, the native module)."""
    b = token_bootstrap(module_shell.wasm, enforcing_config(), module_upstream.port)
    harness.http_connection_manager_config(b)["http_protocol_options"] = {"enable_trailers": True}
    return module_envoy_factory(b, concurrency=2, name=f"host-edge-{module_shell.name}")


def seen(upstream, path_prefix: str) -> list[dict]:
    with upstream.lock:
        return [r for r in upstream.requests if r["path"].startswith(path_prefix)]


def assert_no_crash(envoy) -> None:
    log = envoy.log_text()
    for mark in CRASH_MARKS:
        assert mark not in log, f"{mark!r} in the Envoy log:\n{envoy.log_tail()}"


def assert_every_worker_serves(envoy, connections: int = 40) -> None:
    """Valid requests on fresh connections (spread over both workers by the kernel) all pass:
    a trapped VM would answer 503 (failure_policy FAIL_CLOSED) for every request it gets."""
    token = tokens.access_token()
    statuses = [
        http1(envoy.port, b"GET", b"/orders/1", [(b"authorization", bearer(token))]).status
        for _ in range(connections)
    ]
    assert statuses == [200] * connections, statuses


# ---------------------------------------------------------------------------------------------
# 1. Bytes that are not UTF-8


HIGH = bytes(range(0x80, 0x100))
# Controls a client can put in a field value; Envoy's codecs refuse some (NUL, CR, LF are not
# even sent), and what they refuse never reaches the filter, which is fine.
CONTROLS = bytes([*range(0x01, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F])
TOKEN_CHARS = b"abcdefghijklmnopqrstuvwxyz0123456789-_"


def noisy(rng: random.Random, base: bytes, n: int = 3) -> bytes:
    """`base` with `n` random bytes 0x80-0xFF (obs-text, which Envoy lets through) inserted."""
    out = bytearray(base)
    for _ in range(n):
        out.insert(rng.randrange(len(out) + 1), rng.choice(HIGH))
    return bytes(out)


def random_name(rng: random.Random) -> bytes:
    name = bytes(rng.choice(TOKEN_CHARS) for _ in range(rng.randint(1, 12)))
    if rng.random() < 0.1:
        name = noisy(rng, name, 1)
    return b"x-" + name


def random_request(rng: random.Random, token: str) -> tuple[str, bytes, bytes, list, bytes | None]:
    """(kind, method, path, headers, body): one of the shapes the issue names."""
    extra = [(random_name(rng), noisy(rng, b"v", rng.randint(1, 6))) for _ in range(rng.randint(0, 2))]
    extra.append((b"user-agent", noisy(rng, b"caf\xe9-client", 2)))
    if rng.random() < 0.1:
        # A control byte (or a tab) somewhere: Envoy's codecs refuse most of them.
        name, value = extra[-1]
        at = rng.randrange(len(value) + 1)
        extra[-1] = (name, value[:at] + bytes([rng.choice(CONTROLS + b"\t")]) + value[at:])
    kind = rng.choice(["header", "token-header", "token-endpoint-headers", "token-endpoint-body"])
    if kind == "header":
        return kind, b"GET", b"/orders/1", [(b"authorization", bearer(token)), *extra], None
    if kind == "token-header":
        return kind, b"GET", rng.choice([b"/orders/1", b"/public/x"]), [(b"authorization", noisy(rng, bearer(token), 1)), *extra], None
    if kind == "token-endpoint-headers":
        basic = b"Basic " + base64.b64encode(b"billing:" + noisy(rng, b"secret", 2))
        headers = [(b"content-type", noisy(rng, FORM[1], 1)), (b"authorization", noisy(rng, basic, 1)), *extra]
        return kind, b"POST", TOKEN_PATH.encode(), headers, b"grant_type=client_credentials"
    body = noisy(rng, GOOD_FORM, rng.randint(1, 5))
    return kind, b"POST", TOKEN_PATH.encode(), [FORM, *extra], body


def test_random_bytes_in_headers_token_header_and_token_requests_never_take_a_worker_down(envoy, module_upstream):
    """400 seeded requests with bytes 0x80-0xFF and controls in header names and values, in the
    token header, and in the token endpoint's headers and body, over HTTP/1.1 and h2c. Every
    answer comes from a live filter (no 5xx), an odd byte in a header the filter does not own
    changes nothing, and afterwards valid requests pass on every worker."""
    rng = random.Random(20261130)
    token = tokens.access_token()
    answered = {"header": 0, "token-header": 0, "token-endpoint-headers": 0, "token-endpoint-body": 0}
    refused_by_codec = 0
    before = len(seen(module_upstream, TOKEN_PATH))
    for i in range(400):
        kind, method, path, headers, body = random_request(rng, token)
        send = h2c if i % 3 == 0 else http1
        r = send(envoy.port, method, path, headers, body)
        from_filter = r.status in (200, 401, 403) or (
            r.status in (400, 413) and (r.header(b"www-authenticate") is not None or b'"error"' in r.body)
        )
        if not from_filter:
            # Envoy's codec refused the bytes (HTTP/1 400 without a body, or an HTTP/2 reset):
            # the filter never saw them. Never a 5xx: that is what a trapped VM answers.
            assert r.status in (0, 400), (i, kind, send.__name__, headers, body, r)
            refused_by_codec += 1
            continue
        if kind == "header":
            # A bad byte in a header the filter does not read changes nothing.
            assert r.status == 200, (i, headers, r)
        answered[kind] += 1
    assert all(n >= 30 for n in answered.values()), (answered, refused_by_codec)
    assert len(seen(module_upstream, TOKEN_PATH)) == before, "a token request reached the upstream"
    assert_no_crash(envoy)
    assert_every_worker_serves(envoy)


@pytest.mark.parametrize("send", [http1, h2c], ids=["http1", "h2c"])
def test_a_latin1_user_agent_on_a_protected_route_passes_with_a_valid_token(envoy, send):
    r = send(envoy.port, b"GET", b"/orders/1", [(b"user-agent", b"Caf\xe9/1.0 \xff"), (b"authorization", bearer(tokens.access_token()))])
    assert r.status == 200, r
    assert_no_crash(envoy)


@pytest.mark.parametrize("send", [http1, h2c], ids=["http1", "h2c"])
def test_a_token_header_that_is_not_visible_ascii_is_400_invalid_request(envoy, module_upstream, send):
    before = len(seen(module_upstream, "/orders"))
    r = send(envoy.port, b"GET", b"/orders/1", [(b"authorization", bearer(tokens.access_token()) + b"\xe9")])
    assert r.status == 400, r
    assert b'error="invalid_request"' in (r.header(b"www-authenticate") or b""), r
    assert len(seen(module_upstream, "/orders")) == before


# ---------------------------------------------------------------------------------------------
# 2. Trailers


@pytest.mark.parametrize("protocol", ["h2c", "http1-chunked"])
def test_a_token_request_ending_in_trailers_is_answered_by_the_filter_and_never_reaches_upstream(envoy, module_upstream, protocol):
    before = len(seen(module_upstream, TOKEN_PATH))
    trailers = [(b"x-trailer", b"1")]
    if protocol == "h2c":
        r = h2c(envoy.port, b"POST", TOKEN_PATH.encode(), [FORM], GOOD_FORM, trailers=trailers)
    else:
        half = len(GOOD_FORM) // 2
        r = http1(envoy.port, b"POST", TOKEN_PATH.encode(), [FORM], chunks=[GOOD_FORM[:half], GOOD_FORM[half:]], trailers=trailers)
    assert r.status == 200, r
    body = json.loads(r.body)
    assert body["token_type"].lower() == "bearer" and body["access_token"], body
    assert len(seen(module_upstream, TOKEN_PATH)) == before, "the token request went upstream"


@pytest.mark.parametrize("protocol", ["h2c", "http1-chunked"])
def test_a_refused_token_request_with_trailers_is_refused_locally_too(envoy, module_upstream, protocol):
    before = len(seen(module_upstream, TOKEN_PATH))
    bad = urlencode({"grant_type": "client_credentials", "client_id": "poster", "client_secret": "wrong"}).encode()
    trailers = [(b"x-trailer", b"1")]
    if protocol == "h2c":
        r = h2c(envoy.port, b"POST", TOKEN_PATH.encode(), [FORM], bad, trailers=trailers)
    else:
        r = http1(envoy.port, b"POST", TOKEN_PATH.encode(), [FORM], chunks=[bad], trailers=trailers)
    assert r.status == 401 and json.loads(r.body)["error"] == "invalid_client", r
    assert len(seen(module_upstream, TOKEN_PATH)) == before


def test_a_token_request_of_headers_and_trailers_only_is_answered_locally(envoy, module_upstream):
    before = len(seen(module_upstream, TOKEN_PATH))
    r = h2c(envoy.port, b"POST", TOKEN_PATH.encode(), [FORM], None, trailers=[(b"x-trailer", b"1")])
    assert r.status == 400 and json.loads(r.body)["error"] == "invalid_request", r
    assert len(seen(module_upstream, TOKEN_PATH)) == before


# ---------------------------------------------------------------------------------------------
# 3. Look-alike header names


@pytest.mark.parametrize("send", [http1, h2c], ids=["http1", "h2c"])
@pytest.mark.parametrize("path", [b"/orders/1", b"/echo/unprotected", b"/public/x"])
def test_underscore_and_case_variants_of_the_filters_headers_never_reach_the_upstream(envoy, module_upstream, send, path):
    spoofs = [(b"x_client_id", b"admin"), (b"x-client_id", b"admin"), (b"x_jwt_payload", b"eyJzdWIiOiJhZG1pbiJ9"), (b"x_scope", b"orders:write")]
    headers = list(spoofs)
    if path == b"/orders/1":
        headers.append((b"authorization", bearer(tokens.access_token(client_id="billing"))))
    before = len(seen(module_upstream, "/"))
    r = send(envoy.port, b"GET", path, headers)
    assert r.status == 200, r
    got = seen(module_upstream, "/")[before:]
    assert len(got) == 1, got
    names = {k for k, _ in got[0]["header_list"]}
    for name, _ in spoofs:
        assert name.decode() not in names, (name, got[0]["header_list"])
    if path == b"/orders/1":
        assert got[0]["headers"]["x-client-id"] == "billing", got[0]


def test_the_shipped_configs_reject_header_names_with_underscores(shell, envoy_factory, upstream):
    """envoy/*.yaml set headers_with_underscores_action: REJECT_REQUEST (SECURITY.md), and so do
    their native twins."""
    for name in ("enforce-local-jwks.yaml", "token-endpoint.yaml", "enforce-remote-jwks.yaml"):
        text = (harness.ROOT / "envoy" / name).read_text()
        assert "headers_with_underscores_action: REJECT_REQUEST" in text, name
    rendered = harness.render_shipped(
        "enforce-local-jwks.yaml", ports={"upstream": upstream.port}, wasm=shell.wasm, shell=shell.name
    )
    envoy = envoy_factory(rendered)
    r = http1(envoy.port, b"GET", b"/public/x", [(b"x_client_id", b"admin")])
    assert r.status == 400, r


# ---------------------------------------------------------------------------------------------
# 5. Smaller leaks


@pytest.mark.parametrize("send", [http1, h2c], ids=["http1", "h2c"])
@pytest.mark.parametrize("value", [b"Basic YWRtaW46YWRtaW4=", b"Token abc", b"Bearerabc"])
def test_allow_missing_without_a_verified_token_does_not_forward_the_token_header(envoy, module_upstream, send, value):
    before = len(seen(module_upstream, "/public"))
    r = send(envoy.port, b"GET", b"/public/x", [(b"authorization", value)])
    assert r.status == 200, r
    got = seen(module_upstream, "/public")[before:]
    assert len(got) == 1 and "authorization" not in got[0]["headers"], got


@pytest.mark.parametrize("path", [b"/public/x", b"/orders/1"])
def test_bearer_followed_by_a_tab_is_400_invalid_request(envoy, module_upstream, path):
    before = len(seen(module_upstream, "/"))
    r = http1(envoy.port, b"GET", path, [(b"authorization", b"Bearer\t" + tokens.access_token().encode())])
    assert r.status == 400, r
    assert b'error="invalid_request"' in (r.header(b"www-authenticate") or b""), r
    assert len(seen(module_upstream, "/")) == before


def test_a_provider_moved_to_another_jwks_url_stops_trusting_the_old_urls_keys(shell, envoy_factory, upstream, tmp_path):
    """A listener update (LDS from a file) moves provider `main` from issuer A's JWKS to issuer
    B's. The key set fetched from A must not be trusted for B: for the proxy-wasm filter, shared
    data outlives the configuration in the same Envoy; the native module's process-wide state
    must not carry it over either."""
    key_a, jwk_a = tokens.new_key("EdDSA", kid="same-kid")
    key_b, jwk_b = tokens.new_key("EdDSA", kid="same-kid")
    issuer_a = harness.IssuerServer(tokens.jwks(jwk_a)).up()
    issuer_b = harness.IssuerServer(tokens.jwks(jwk_b)).up()
    try:
        port = harness.free_port()
        lds = tmp_path / "lds.json"

        def write_listener(issuer, cluster):
            config = harness.plugin_config(
                {"main": harness.provider(remote_jwks_uri=issuer.jwks_uri, cluster=cluster, timeout="1s")},
                [{"match": {"prefix": "/orders"}, "requires": {"provider_name": "main"}}],
            )
            b = shell.bootstrap(config, upstream_port=upstream.port)
            listener = b["static_resources"]["listeners"][0]
            listener["address"]["socket_address"]["port_value"] = port
            listener["@type"] = "type.googleapis.com/envoy.config.listener.v3.Listener"
            tmp = tmp_path / "lds.tmp"
            tmp.write_text(json.dumps({"resources": [listener]}))
            tmp.rename(lds)  # Envoy watches the file's directory for a move

        write_listener(issuer_a, "issuer_a")
        bootstrap = {
            "node": {"id": "host-edge", "cluster": "tests"},
            "admin": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": 0}}},
            "dynamic_resources": {"lds_config": {"path_config_source": {"path": str(lds)}, "resource_api_version": "V3"}},
            "static_resources": {
                "clusters": [
                    harness.static_cluster("upstream", upstream.port),
                    harness.static_cluster("issuer_a", issuer_a.port),
                    harness.static_cluster("issuer_b", issuer_b.port),
                ]
            },
        }
        envoy = envoy_factory(bootstrap)

        def get(key) -> int:
            t = tokens.access_token(key=key, kid="same-kid")
            return http1(port, b"GET", b"/orders/1", [(b"authorization", bearer(t))]).status

        deadline = time.monotonic() + 10
        while get(key_a) != 200 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert get(key_a) == 200, envoy.log_tail()
        assert get(key_b) == 401

        write_listener(issuer_b, "issuer_b")
        deadline = time.monotonic() + 10
        while get(key_b) != 200 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert get(key_b) == 200, envoy.log_tail()
        # A fresh token signed by A's key (nothing cached): refused under the new URL.
        assert get(key_a) == 401
        assert issuer_b.jwks_requests >= 1
    finally:
        issuer_a.down()
        issuer_b.down()
