"""The cross-shell vectors (tests/vectors/cross-shell/) give the same verdicts in the Envoy filter
as in the core and the npm package: access tokens (cases.json: same status, same RFC 6750 code)
and token requests with client assertions (assertions.py: same status, same RFC 6749 code)."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import harness

VECTOR_DIR = Path(__file__).resolve().parents[1] / "vectors/cross-shell"
VECTORS = json.loads((VECTOR_DIR / "cases.json").read_text())
sys.path.insert(0, str(VECTOR_DIR))
import assertions  # noqa: E402


def test_cross_shell_vectors_give_the_same_verdicts_in_envoy(filter_wasm, envoy_factory):
    # One rule per scope set used by the vectors, so each case's required scopes apply.
    scope_sets = sorted({tuple(c["scopes"]) for c in VECTORS["cases"]})
    rules = [
        {"match": {"prefix": f"/v{i}/"}, "requires": {"provider_name": "main", "scopes": list(s)}}
        for i, s in enumerate(scope_sets)
    ]
    config = harness.plugin_config({"main": VECTORS["provider"]}, rules)
    envoy = envoy_factory(harness.gatepass_bootstrap(filter_wasm, config))
    mismatches = []
    for case in VECTORS["cases"]:
        path = f"/v{scope_sets.index(tuple(case['scopes']))}/x"
        r = envoy.get(path, headers={"authorization": f"Bearer {case['token']}"})
        challenge = r.headers.get("www-authenticate", "")
        got_error = None
        if r.status != 200:
            got_error = r.json().get("error")
            assert f'error="{got_error}"' in challenge, (case["name"], challenge)
        if (r.status, got_error) != (case["status"], case["error"]):
            mismatches.append(f"{case['name']}: got {r.status} {got_error}, expected {case['status']} {case['error']}")
    assert not mismatches, "\n".join(mismatches)


def test_cross_shell_assertion_requests_get_the_same_answers_in_envoy(filter_wasm, envoy_factory):
    """The client-assertion cases of tests/vectors/cross-shell/assertions.py, made for Envoy's
    real clock (assertions.json holds them for a fixed clock, which Envoy cannot have), answered
    in order by the filter's token endpoint: same status and RFC 6749 §5.2 code as the core and
    the npm package give for assertions.json."""
    requests = assertions.requests(int(time.time()))
    fixed = json.loads((VECTOR_DIR / "assertions.json").read_text())
    # Same cases, same verdicts as the file the core and the package replay.
    assert [(r["name"], r["status"], r["error"]) for r in requests] == [
        (r["name"], r["status"], r["error"]) for r in fixed["requests"]
    ]
    assert fixed["server"] == assertions.server_config()
    config = harness.plugin_config({"main": VECTORS["provider"]}, token_endpoint=assertions.server_config())
    envoy = envoy_factory(harness.gatepass_bootstrap(filter_wasm, config))
    mismatches = []
    for case in requests:
        headers = {"content-type": "application/x-www-form-urlencoded"}
        if case["authorization"]:
            headers["authorization"] = case["authorization"]
        r = envoy.post(assertions.TOKEN_PATH, headers=headers, body=case["body"], timeout=10)
        body = r.json()
        got = (r.status, body.get("error"))
        if got != (case["status"], case["error"]):
            mismatches.append(f"{case['name']}: got {got}, expected {(case['status'], case['error'])}")
        if r.status == 200:
            assert isinstance(body.get("access_token"), str), case["name"]
    assert not mismatches, "\n".join(mismatches)
