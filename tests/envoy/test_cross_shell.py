"""The cross-shell vectors (tests/vectors/cross-shell/cases.json) give the same verdicts in the
Envoy filter as in the core and the npm package: same status, same RFC 6750 error code."""

from __future__ import annotations

import json
from pathlib import Path

import harness

VECTORS = json.loads((Path(__file__).resolve().parents[1] / "vectors/cross-shell/cases.json").read_text())


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
