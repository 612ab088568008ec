"""The harness itself, then the filter's first answers in real Envoy."""

from __future__ import annotations

import json

import harness


def test_envoy_serves_a_direct_response(envoy_factory, upstream):
    """No filter: Envoy starts, answers a local 200, proxies to the echo upstream, and exposes
    admin stats — proves the harness (ports read back, readiness, teardown)."""
    envoy = envoy_factory(
        harness.bootstrap(
            routes=[harness.cluster_route("/echo", "upstream"), harness.direct_response_route()],
            clusters=[harness.static_cluster("upstream", upstream.port)],
        )
    )
    r = envoy.get("/")
    assert r.status == 200, r
    assert r.text == "ok\n"

    r = envoy.post("/echo/x?q=1", headers={"x-probe": "1"}, body="hello")
    assert r.status == 200, r
    seen = r.json()
    assert (seen["method"], seen["path"], seen["body"]) == ("POST", "/echo/x?q=1", "hello")
    assert seen["headers"]["x-probe"] == "1"
    assert len(upstream.requests) == 1

    assert envoy.stats(filter="http.ingress.downstream_rq_2xx")["http.ingress.downstream_rq_2xx"] == 2


def test_filter_passes_unmatched_and_refuses_missing_token(shell, envoy_factory, upstream):
    """Config (a)-style plugin config: no rule matches → 200; a rule requiring the provider and
    no token → 401 with a bare `WWW-Authenticate: Bearer realm=...` (RFC 6750 §3.1)."""
    # Provider `main` with a local JWKS, the shipped rules without their catch-all.
    config = harness.plugin_config(rules=harness.RESOURCE_RULES)
    envoy = envoy_factory(shell.bootstrap(config, upstream_port=upstream.port))

    r = envoy.get("/no-rule-matches")
    assert r.status == 200, r
    assert r.text == "ok\n"

    r = envoy.get("/orders")
    assert r.status == 401, r
    challenge = r.header("www-authenticate")
    assert challenge is not None and challenge.startswith("Bearer realm="), r
    assert "error=" not in challenge, "no token: no error code (RFC 6750 §3.1)"
    assert upstream.requests == [], "a refused request must not reach the upstream"


def test_bad_plugin_config_is_refused_naming_the_field(shell, envoy_validate):
    """`envoy --mode validate` runs on_configure: a misspelt field fails it, and Envoy's
    output names the field."""
    good = harness.plugin_config()
    rc, out = envoy_validate(shell.bootstrap(good))
    assert rc == 0, out

    bad = json.loads(json.dumps(good))
    bad["providers"]["main"]["isuer"] = bad["providers"]["main"].pop("issuer")
    rc, out = envoy_validate(shell.bootstrap(bad))
    assert rc != 0, out
    assert "isuer" in out, out
