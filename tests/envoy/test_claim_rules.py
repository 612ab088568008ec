"""Claim-based rules in real Envoy, with each shell (issue 15): scopes read from the claim another
issuer puts them in (`scope_claims`: a Mia-Platform-style RS256 token with a `permissions` array),
and rules that require claim values (`requires.claims`: equality for a string claim, membership
for an array), refused with 403 `insufficient_scope` when unmet (RFC 6750 §3.1)."""

from __future__ import annotations

import pytest

import harness
import tokens

MIA_ISSUER = "https://mia.example"
MIA_AUDIENCE = "https://orders.example"
MIA_KEY, MIA_JWK = tokens.new_key("RS256", kid="mia-2026")

RULES = [
    {"match": {"path_separated_prefix": "/orders"}, "requires": {"provider_name": "mia", "scopes": ["orders:read"]}},
    {"match": {"path_separated_prefix": "/tenants/acme"}, "requires": {"provider_name": "main", "claims": {"tenant": "acme"}}},
    {
        "match": {"path_separated_prefix": "/billing"},
        "requires": {"provider_name": "main", "scopes": ["orders:read"], "claims": {"groups": "billing"}},
    },
    {"match": {"prefix": "/"}, "requires": {"provider_name": "main"}},
]


def mia_token(**claims) -> str:
    """An access token as Mia-Platform's client-credentials service issues them: RS256, `typ`
    JWT, the permissions in a `permissions` array and no `scope`."""
    body = tokens.access_claims(**{"iss": MIA_ISSUER, "aud": MIA_AUDIENCE, "scope": None, **claims})
    return tokens.sign(body, key=MIA_KEY, alg="RS256", kid="mia-2026", typ="JWT")


@pytest.fixture(scope="module")
def envoy(module_shell, module_envoy_factory, module_upstream):
    providers = {
        "main": harness.provider(jwks=tokens.DEMO_PUBLIC_JWKS),
        "mia": harness.provider(
            jwks=tokens.jwks(MIA_JWK),
            issuer=MIA_ISSUER,
            audiences=[MIA_AUDIENCE],
            algorithms=["RS256"],
            require_typ="",
            scope_claims=["permissions"],
        ),
    }
    config = harness.plugin_config(providers, RULES)
    b = harness.gatepass_bootstrap(
        module_shell.wasm, config, upstream_port=module_upstream.port, routes=[harness.cluster_route("/", "upstream")]
    )
    return module_envoy_factory(b, name=f"claim-rules-{module_shell.name}")


def get(envoy, path: str, token: str) -> harness.Response:
    return envoy.get(path, headers={"authorization": f"Bearer {token}"})


def assert_insufficient(r: harness.Response, scope: str | None) -> None:
    assert r.status == 403, r
    challenge = r.header("www-authenticate") or ""
    assert 'error="insufficient_scope"' in challenge, challenge
    if scope is None:
        assert "scope=" not in challenge, challenge
    else:
        assert f'scope="{scope}"' in challenge, challenge


def test_scopes_come_from_another_issuers_permissions_claim(envoy, module_upstream):
    before = envoy.counters()
    assert get(envoy, "/orders/1", mia_token(permissions=["orders:read", "orders:write"])).status == 200
    assert_insufficient(get(envoy, "/orders/1", mia_token(permissions=["orders:write"])), "orders:read")
    # scope_claims names `permissions` only: a `scope` claim grants nothing from this issuer.
    assert_insufficient(get(envoy, "/orders/1", mia_token(scope="orders:read")), "orders:read")
    # A `permissions` claim that is no list of strings cannot be read: the token is refused.
    r = get(envoy, "/orders/1", mia_token(permissions={"orders:read": True}))
    assert r.status == 401 and 'error="invalid_token"' in (r.header("www-authenticate") or ""), r
    assert envoy.counters_delta(before) == {
        "gatepass.allowed": 1,
        "gatepass.denied.insufficient_scope": 2,
        "gatepass.denied.invalid_token": 1,
    }


def test_a_rule_requires_a_string_claims_value(envoy):
    assert get(envoy, "/tenants/acme/orders", tokens.access_token(tenant="acme")).status == 200
    assert_insufficient(get(envoy, "/tenants/acme/orders", tokens.access_token(tenant="globex")), None)
    assert_insufficient(get(envoy, "/tenants/acme/orders", tokens.access_token()), None)
    # Compared as it is: no trimming, no case folding, no numbers read as text.
    assert_insufficient(get(envoy, "/tenants/acme/orders", tokens.access_token(tenant="ACME")), None)
    assert_insufficient(get(envoy, "/tenants/acme/orders", tokens.access_token(tenant=["acme "])), None)


def test_a_rule_requires_a_member_of_an_array_claim_and_its_scopes(envoy):
    token = tokens.access_token(groups=["ops", "billing"])
    assert get(envoy, "/billing/invoices", token).status == 200
    assert_insufficient(get(envoy, "/billing/invoices", tokens.access_token(groups=["ops"])), "orders:read")
    assert_insufficient(get(envoy, "/billing/invoices", tokens.access_token(groups="billing-ops")), "orders:read")
    # The claim is there but a scope is missing: the same answer, for the scope.
    r = get(envoy, "/billing/invoices", tokens.access_token(groups=["billing"], scope="orders:write"))
    assert_insufficient(r, "orders:read")
