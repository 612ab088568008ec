"""The cross-shell and attack vectors (tests/vectors/) give the same verdicts in both Envoy shells
(the proxy-wasm filter and the native module) as in the core and the npm package: access tokens (cross-shell/cases.json and the attack suite
attacks/tokens.json: same status, same RFC 6750 code) and token requests with client assertions
(cross-shell/assertions.py, including the assertion attacks: same status, same RFC 6749 code)."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest

import harness

VECTOR_DIR = Path(__file__).resolve().parents[1] / "vectors/cross-shell"
VECTORS = json.loads((VECTOR_DIR / "cases.json").read_text())
sys.path.insert(0, str(VECTOR_DIR))
import assertions  # noqa: E402


@pytest.mark.parametrize("file", ["cross-shell/cases.json", "attacks/tokens.json"])
def test_token_vectors_give_the_same_verdicts_in_envoy(shell, envoy_factory, upstream, file):
    """Every case through real Envoy: same status and RFC 6750 code as in the core and the npm
    package, the code also in the challenge, and no refused request reaches the upstream."""
    vectors = json.loads((VECTOR_DIR.parent / file).read_text())
    # One rule per scope set used by the vectors, so each case's required scopes apply.
    scope_sets = sorted({tuple(c["scopes"]) for c in vectors["cases"]})
    rules = [
        {"match": {"prefix": f"/orders/v{i}/"}, "requires": {"provider_name": "main", "scopes": list(s)}}
        for i, s in enumerate(scope_sets)
    ]
    config = harness.plugin_config({"main": vectors["provider"]}, rules)
    envoy = envoy_factory(shell.bootstrap(config, upstream_port=upstream.port))
    mismatches = []
    for case in vectors["cases"]:
        path = f"/orders/v{scope_sets.index(tuple(case['scopes']))}/{len(mismatches)}"
        with upstream.lock:
            seen_before = len(upstream.requests)
        r = envoy.get(path, headers={"authorization": f"Bearer {case['token']}"})
        with upstream.lock:
            reached = len(upstream.requests) > seen_before
        challenge = r.headers.get("www-authenticate", "")
        got_error = None
        if r.status != 200:
            got_error = r.json().get("error")
            assert f'error="{got_error}"' in challenge, (case["name"], challenge)
        if (r.status, got_error) != (case["status"], case["error"]):
            mismatches.append(f"{case['name']}: got {r.status} {got_error}, expected {case['status']} {case['error']}")
        if reached != (case["status"] == 200):
            mismatches.append(f"{case['name']}: reached the upstream: {reached}")
    assert not mismatches, "\n".join(mismatches)


def test_oversized_authorization_header_is_refused_before_the_filter(shell, envoy_factory, upstream):
    """A header over Envoy's limit (60 KiB by default) is refused by Envoy itself (431) and
    never reaches the upstream; one under the limit but over the filter's 16 KiB token bound is
    401 invalid_token."""
    vectors = json.loads((VECTOR_DIR.parent / "attacks/tokens.json").read_text())
    config = harness.plugin_config({"main": vectors["provider"]}, [
        {"match": {"prefix": "/orders"}, "requires": {"provider_name": "main"}},
    ])
    envoy = envoy_factory(shell.bootstrap(config, upstream_port=upstream.port))
    r = envoy.get("/orders/1", headers={"authorization": "Bearer " + "A" * 70_000})
    assert r.status == 431, r
    r = envoy.get("/orders/1", headers={"authorization": "Bearer " + "A" * 30_000})
    assert r.status == 401 and r.json()["error"] == "invalid_token", r
    with upstream.lock:
        assert not [q for q in upstream.requests if q["path"].startswith("/orders")]


def test_cross_shell_assertion_requests_get_the_same_answers_in_envoy(shell, envoy_factory):
    """The client-assertion cases of tests/vectors/cross-shell/assertions.py, made for Envoy's
    real clock (assertions.json holds them for a fixed clock, which Envoy cannot have), answered
    in order by the filter's token endpoint: same status and RFC 6749 §5.2 code as the core and
    the npm package give for assertions.json."""
    requests = assertions.requests(int(time.time()))
    fixed = json.loads((VECTOR_DIR / "assertions.json").read_text())
    # Same cases, same verdicts as the file the core and the package replay.
    assert [(r["name"], r["path"], r["status"], r["error"], r["active"]) for r in requests] == [
        (r["name"], r["path"], r["status"], r["error"], r["active"]) for r in fixed["requests"]
    ]
    assert fixed["server"] == assertions.server_config()
    config = harness.plugin_config({"main": VECTORS["provider"]}, token_endpoint=assertions.server_config())
    envoy = envoy_factory(shell.bootstrap(config))
    mismatches = []
    for case in requests:
        headers = {"content-type": "application/x-www-form-urlencoded"}
        if case["authorization"]:
            headers["authorization"] = case["authorization"]
        r = envoy.post(case["path"], headers=headers, body=case["body"], timeout=10)
        body = r.json()
        got = (r.status, body.get("error"))
        if got != (case["status"], case["error"]):
            mismatches.append(f"{case['name']}: got {got}, expected {(case['status'], case['error'])}")
        if case["active"] is not None and body.get("active") is not case["active"]:
            mismatches.append(f"{case['name']}: active {body.get('active')}, expected {case['active']}")
        if r.status == 200 and case["active"] is None:
            assert isinstance(body.get("access_token"), str), case["name"]
    assert not mismatches, "\n".join(mismatches)
