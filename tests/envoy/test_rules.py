"""Rules match what Envoy's route matcher (and so a user reading the config) means, in real Envoy
over HTTP/1.1: `path_separated_prefix` covers a resource and everything below it and nothing
beside it, `case_sensitive: false` covers every spelling, the shipped rules guard every write
method, and a path whose `;` parameters (RFC 3986 §3.3) would move it to another rule once an
upstream strips them (Tomcat, Jetty, Spring do; Envoy does not) is refused 400 invalid_request.

Two Envoys: one with the new match fields, one with only `path` and `prefix` (the fields every
version of the filter knows), so that the path-parameter bypass shows on a filter without the
check. Every path goes to the echo upstream, so whatever passes is visible there.
"""

from __future__ import annotations

import pytest

import harness
import tokens
from tokens import access_token

REALM = "gatepass"

# The admin tree in any spelling, an exact status path, then the shipped rules (with their
# /public tree and catch-all).
RULES = [
    {
        "match": {"path_separated_prefix": "/admin", "case_sensitive": False},
        "requires": {"provider_name": "main", "scopes": ["admin"]},
    },
    {"match": {"path": "/status"}, "requires": {"provider_name": "main", "scopes": ["status"]}},
    *harness.DEFAULT_RULES,
]

# Only the match fields the filter had before `path_separated_prefix` and `case_sensitive`.
LEGACY_RULES = [
    {"match": {"path": "/admin"}, "requires": {"provider_name": "main", "scopes": ["admin"]}},
    {"match": {"prefix": "/public/"}, "allow_missing": {"provider_name": "main"}},
    {"match": {"prefix": "/"}, "requires": {"provider_name": "main"}},
]


def _start(shell, module_envoy_factory, module_upstream, rules, name):
    config = harness.plugin_config({"main": harness.provider(jwks=tokens.DEMO_PUBLIC_JWKS)}, rules, realm=REALM)
    b = harness.gatepass_bootstrap(
        shell.wasm, config, upstream_port=module_upstream.port, routes=[harness.cluster_route("/", "upstream")]
    )
    return module_envoy_factory(b, name=name)


@pytest.fixture(scope="module")
def envoy(module_shell, module_envoy_factory, module_upstream):
    return _start(module_shell, module_envoy_factory, module_upstream, RULES, f"rules-{module_shell.name}")


@pytest.fixture(scope="module")
def legacy_envoy(module_shell, module_envoy_factory, module_upstream):
    return _start(module_shell, module_envoy_factory, module_upstream, LEGACY_RULES, f"legacy-rules-{module_shell.name}")


def bearer(scope: str) -> dict[str, str]:
    return {"authorization": f"Bearer {access_token(scope=scope)}"}


def upstream_paths(upstream) -> list[str]:
    with upstream.lock:
        return [q["path"] for q in upstream.requests]


def assert_refused(r: harness.Response, status: int, code: str | None) -> None:
    assert r.status == status, r
    challenge = r.header("www-authenticate") or ""
    assert challenge.startswith(f'Bearer realm="{REALM}"'), r
    if code is None:
        assert "error=" not in challenge, r
    else:
        assert f'error="{code}"' in challenge, r


# ---------------------------------------------------------------------------------------------
# path_separated_prefix and case_sensitive


def test_separated_prefix_allow_rule_does_not_open_a_sibling_path(envoy, module_upstream):
    """`path_separated_prefix: /public` lets /public and its tree through without a token, but
    /public-internal is beside it, not below it: the catch-all asks for a token."""
    for path in ("/public", "/public/", "/public/x", "/public?x=1"):
        assert envoy.get(path).status == 200, path
    seen = upstream_paths(module_upstream)
    for path in ("/public-internal", "/public-internal/x", "/publicx"):
        assert_refused(envoy.get(path), 401, None)
    assert upstream_paths(module_upstream) == seen, "a refused request must not reach the upstream"
    assert envoy.get("/public-internal", headers=bearer("orders:read")).status == 200


def test_separated_prefix_protects_the_resource_its_trailing_slash_and_below(envoy, module_upstream):
    seen = upstream_paths(module_upstream)
    for path in ("/admin", "/admin/", "/admin/users", "/admin?x=1"):
        assert_refused(envoy.get(path), 401, None)
        assert_refused(envoy.get(path, headers=bearer("orders:read")), 403, "insufficient_scope")
    assert upstream_paths(module_upstream) == seen
    for path in ("/admin", "/admin/", "/admin/users"):
        r = envoy.get(path, headers=bearer("admin"))
        assert r.status == 200, r
        assert r.json()["path"] == path


def test_case_insensitive_rule_protects_every_spelling(envoy, module_upstream):
    """`case_sensitive: false` on /admin: upstreams that route without case (IIS, many
    frameworks on case-insensitive file systems) serve /ADMIN as /admin; so must the rule."""
    seen = upstream_paths(module_upstream)
    for path in ("/ADMIN", "/Admin/users", "/aDmIn/"):
        assert_refused(envoy.get(path), 401, None)
        assert_refused(envoy.get(path, headers=bearer("orders:read")), 403, "insufficient_scope")
    assert upstream_paths(module_upstream) == seen
    assert envoy.get("/ADMIN", headers=bearer("admin")).status == 200


def test_exact_path_is_exact(envoy):
    """`path: /status` is that path only (as in Envoy): /status/ is the catch-all's."""
    assert_refused(envoy.get("/status", headers=bearer("orders:read")), 403, "insufficient_scope")
    assert envoy.get("/status?probe=1", headers=bearer("status")).status == 200
    assert envoy.get("/status/", headers=bearer("orders:read")).status == 200


# ---------------------------------------------------------------------------------------------
# Path parameters


@pytest.mark.parametrize(
    "path",
    [
        "/admin;x=1",  # Tomcat/Jetty/Spring: /admin
        "/ADMIN;x=1",  # ... in any spelling, the rule is case-insensitive
        "/admin;x=1/users",  # /admin/users
        "/status;jsessionid=0123",  # /status (exact rule)
        "/admin%3Bx=1",  # %3B: Envoy leaves it encoded, some upstreams decode it first
        # Envoy's normalize_path makes this /public/..;/admin (it resolves a literal `..;`, but
        # decodes %2e after resolving); Tomcat reads /public/../admin = /admin.
        "/public/%2e%2e;/admin",
        "/public/..%3B/admin",
    ],
)
def test_path_parameters_that_change_the_rule_are_refused_400(envoy, module_upstream, path):
    """With a token the catch-all accepts but the admin/status rule would not, the request is
    refused 400 invalid_request before any token check, and never reaches the upstream."""
    before, seen = envoy.counters(), upstream_paths(module_upstream)
    r = envoy.get(path, headers=bearer("orders:read"))
    assert_refused(r, 400, "invalid_request")
    assert r.json()["error_description"] == "path parameters change which rule applies", r
    assert envoy.counters_delta(before) == {"gatepass.denied.invalid_request": 1}
    assert upstream_paths(module_upstream) == seen


def test_path_parameters_pass_when_the_rule_is_the_same(envoy, module_upstream):
    """A parameter inside the orders tree keeps the orders rule: checked as usual, and passed on
    as sent (the filter does not rewrite the path)."""
    r = envoy.get("/orders/7;v=2", headers=bearer("orders:read"))
    assert r.status == 200, r
    assert r.json()["path"] == "/orders/7;v=2"
    r = envoy.request("PUT", "/orders/7;v=2", headers=bearer("orders:read"), body="{}")
    assert_refused(r, 403, "insufficient_scope")


@pytest.mark.parametrize(
    "path,with_token",
    [
        ("/admin;x=1", True),  # without the check: the catch-all's token check only → 200
        ("/admin%3bx=1", True),
        ("/public/%2e%2e;/admin", False),  # without the check: allow_missing on /public/ → 200
        ("/public/..%3b/admin", False),
    ],
)
def test_path_parameters_cannot_step_around_a_rule_written_with_path_and_prefix(
    legacy_envoy, module_upstream, path, with_token
):
    """The same check with only `path` and `prefix` in the rules: `path: /admin` is exact, so
    without the check `/admin;x=1` would fall to a weaker rule while the upstream serves
    /admin."""
    seen = upstream_paths(module_upstream)
    r = legacy_envoy.get(path, headers=bearer("orders:read") if with_token else None)
    assert_refused(r, 400, "invalid_request")
    assert upstream_paths(module_upstream) == seen


# ---------------------------------------------------------------------------------------------
# The shipped rules


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_every_write_method_on_the_orders_tree_needs_the_write_scope(envoy, module_upstream, method):
    seen = upstream_paths(module_upstream)
    for path in ("/orders", "/orders/7"):
        r = envoy.request(method, path, headers=bearer("orders:read"), body="{}")
        assert_refused(r, 403, "insufficient_scope")
        assert 'scope="orders:write"' in (r.header("www-authenticate") or ""), r
    assert upstream_paths(module_upstream) == seen
    r = envoy.request(method, "/orders/7", headers=bearer("orders:read orders:write"), body="{}")
    assert r.status == 200, r
    assert r.json()["method"] == method


def test_the_catch_all_needs_a_token_where_no_other_rule_applies(envoy):
    assert_refused(envoy.get("/anything/else"), 401, None)
    assert_refused(envoy.get("/orders-archive"), 401, None)
    assert envoy.get("/anything/else", headers=bearer("profile")).status == 200
    assert envoy.get("/health").status == 200
