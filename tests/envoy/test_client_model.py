"""The client model (issue 15) at the Envoy token endpoint, with each shell: per-client token
lifetimes, audiences asked for with `audience` or RFC 8707 `resource`, static claims that a
`requires.claims` rule of the same Envoy then reads, the disabled state, and RFC 7662 introspection
— the introspection requests made by Authlib (its requests `OAuth2Session.introspect_token`, with
`client_secret_basic` and its `PrivateKeyJWT`), a client library nobody here wrote.

The issuer is the Envoy's own URL (loopback http), so Authlib's URLs are the ones gatepass derives.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlencode

import jwt
import pytest
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc7523 import PrivateKeyJWT
from joserfc.jwk import ECKey

import harness
import tokens

BILLING_SECRET = "b1lling-" + "x" * 40
INTROSPECTOR_SECRET = "intr0spector-" + "y" * 40
DISABLED_SECRET = "d1sabled-" + "z" * 40
OTHER_AUDIENCE = "https://billing.gatepass.local"
FORM = {"content-type": "application/x-www-form-urlencoded"}


class Server:
    def __init__(self, envoy: harness.Envoy, issuer: str):
        self.envoy = envoy
        self.issuer = issuer
        self.token_url = issuer + "/oauth/token"
        self.introspect_url = issuer + "/oauth/introspect"

    def token(self, client_id: str, secret: str, **params: str) -> harness.Response:
        body = urlencode({"grant_type": "client_credentials", **params})
        return self.envoy.post("/oauth/token", headers={**FORM, **basic(client_id, secret)}, body=body, timeout=10)

    def introspect(self, token: str, client_id: str = "introspector", secret: str = INTROSPECTOR_SECRET) -> harness.Response:
        body = urlencode({"token": token, "token_type_hint": "access_token"})
        return self.envoy.post("/oauth/introspect", headers={**FORM, **basic(client_id, secret)}, body=body, timeout=10)


basic = harness.basic_auth


RULES = [
    {"match": {"path_separated_prefix": "/tenants/acme"}, "requires": {"provider_name": "main", "claims": {"tenant": "acme"}}},
    {"match": {"prefix": "/"}, "requires": {"provider_name": "main", "scopes": ["orders:read"]}},
]


@pytest.fixture(scope="module")
def server(module_shell, module_envoy_factory, module_upstream) -> Server:
    def bootstrap(issuer: str) -> dict[str, Any]:
        te = {
            "issuer": issuer,
            "signing_keys": [tokens.DEMO_PRIVATE_JWK],
            "default_audiences": [harness.AUDIENCE],
            "token_ttl": "900s",
            "clients": [
                {
                    "client_id": "billing",
                    "client_secret_hash": tokens.secret_hash(BILLING_SECRET),
                    "scope": "orders:read",
                    "audiences": [harness.AUDIENCE, OTHER_AUDIENCE],
                    "token_ttl": "600s",
                    "claims": {"tenant": "acme", "groups": ["billing"]},
                },
                {
                    "client_id": "introspector",
                    "client_secret_hash": tokens.secret_hash(INTROSPECTOR_SECRET),
                    "introspection": True,
                },
                {
                    "client_id": "worker",
                    "token_endpoint_auth_method": "private_key_jwt",
                    "jwks": tokens.WORKER_PUBLIC_JWKS,
                    "scope": "orders:read",
                    "introspection": True,
                },
                {
                    "client_id": "retired",
                    "client_secret_hash": tokens.secret_hash(DISABLED_SECRET),
                    "scope": "orders:read",
                    "disabled": True,
                },
            ],
        }
        config = harness.plugin_config(
            {"main": harness.provider(jwks=tokens.DEMO_PUBLIC_JWKS, issuer=issuer)}, RULES, token_endpoint=te
        )
        return harness.gatepass_bootstrap(
            module_shell.wasm, config, upstream_port=module_upstream.port, routes=[harness.cluster_route("/", "upstream")]
        )

    envoy, issuer = harness.envoy_at_own_url(module_envoy_factory, bootstrap, f"client-model-{module_shell.name}")
    return Server(envoy, issuer)


def claims_of(r: harness.Response) -> dict[str, Any]:
    assert r.status == 200, r
    return tokens.decode_unverified(r.json()["access_token"])[1]


def test_a_client_token_carries_its_lifetime_claims_and_the_audience_it_asked_for(server):
    r = server.token("billing", BILLING_SECRET, audience=OTHER_AUDIENCE)
    assert r.json()["expires_in"] == 600, r
    claims = jwt.decode(
        r.json()["access_token"],
        jwt.PyJWK(tokens.DEMO_PUBLIC_JWKS["keys"][0]),
        algorithms=["EdDSA"],
        audience=OTHER_AUDIENCE,
        issuer=server.issuer,
    )
    assert claims["aud"] == OTHER_AUDIENCE
    assert claims["exp"] - claims["iat"] == 600
    assert claims["tenant"] == "acme" and claims["groups"] == ["billing"]
    # Without audience: both of the client's; with resource: the same as audience.
    assert claims_of(server.token("billing", BILLING_SECRET))["aud"] == [harness.AUDIENCE, OTHER_AUDIENCE]
    assert claims_of(server.token("billing", BILLING_SECRET, resource=harness.AUDIENCE))["aud"] == harness.AUDIENCE


def test_audience_errors(server):
    both = server.token("billing", BILLING_SECRET, resource=harness.AUDIENCE, audience=harness.AUDIENCE)
    assert (both.status, both.json()["error"]) == (400, "invalid_request"), both
    other = server.token("billing", BILLING_SECRET, audience="https://elsewhere.example")
    assert (other.status, other.json()["error"]) == (400, "invalid_target"), other


def test_static_claims_meet_a_claim_rule_of_the_same_envoy(server):
    own = server.token("billing", BILLING_SECRET, audience=harness.AUDIENCE).json()["access_token"]
    assert server.envoy.get("/tenants/acme/orders", headers={"authorization": f"Bearer {own}"}).status == 200
    # The provider accepts only AUDIENCE: the same client's token for the other audience is refused.
    other = server.token("billing", BILLING_SECRET, audience=OTHER_AUDIENCE).json()["access_token"]
    assert server.envoy.get("/tenants/acme/orders", headers={"authorization": f"Bearer {other}"}).status == 401
    # A client without the tenant claim: 403 insufficient_scope.
    worker = tokens.access_token(iss=server.issuer, client_id="worker", sub="worker")
    r = server.envoy.get("/tenants/acme/orders", headers={"authorization": f"Bearer {worker}"})
    assert r.status == 403 and 'error="insufficient_scope"' in (r.header("www-authenticate") or ""), r


def test_a_disabled_client_gets_the_answer_of_a_wrong_secret(server):
    before = server.envoy.counters()
    disabled = server.token("retired", DISABLED_SECRET)
    wrong = server.token("retired", "not-the-secret")
    assert disabled.status == wrong.status == 401, disabled
    assert disabled.body == wrong.body
    assert disabled.header("www-authenticate") == wrong.header("www-authenticate")
    assert server.envoy.counters_delta(before) == {"gatepass.token.client_auth_failed": 2}


def test_authlib_introspects_a_token_with_client_secret_basic(server):
    issued = server.token("billing", BILLING_SECRET).json()["access_token"]
    session = OAuth2Session("introspector", INTROSPECTOR_SECRET, token_endpoint_auth_method="client_secret_basic")
    before = server.envoy.counters()
    r = session.introspect_token(server.introspect_url, token=issued, token_type_hint="access_token", timeout=10)
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "no-store"
    answer = r.json()
    assert answer["active"] is True and answer["token_type"] == "Bearer", answer
    assert answer["client_id"] == answer["sub"] == "billing"
    assert answer["iss"] == server.issuer and answer["scope"] == "orders:read"
    assert answer["tenant"] == "acme" and answer["exp"] - answer["iat"] == 600
    assert server.envoy.counters_delta(before) == {"gatepass.introspection.active": 1}


def test_authlib_introspects_with_private_key_jwt_and_its_assertion_counts_once(server):
    issued = server.token("billing", BILLING_SECRET).json()["access_token"]
    auth = PrivateKeyJWT(token_endpoint=server.issuer, alg="ES256")
    session = OAuth2Session("worker", ECKey.import_key(tokens.WORKER_PRIVATE_JWK), token_endpoint_auth_method=auth)
    sent: list = []
    session.hooks["response"].append(lambda r, *a, **k: sent.append(r.request))
    r = session.introspect_token(server.introspect_url, token=issued, timeout=10)
    assert r.status_code == 200 and r.json()["active"] is True, r.text
    # The same assertion again: refused as a replay (the replay store of the token endpoint).
    replay = server.envoy.post("/oauth/introspect", headers=FORM, body=sent[0].body, timeout=10)
    assert replay.status == 401 and replay.json()["error"] == "invalid_client", replay
    assert "already used" in replay.json()["error_description"]


def test_introspection_says_only_inactive_for_tokens_that_do_not_count(server):
    before = server.envoy.counters()
    foreign_key, _ = tokens.new_key("EdDSA", kid="demo-2026")
    expired = tokens.access_token(iss=server.issuer, exp=int(time.time()) - 5, iat=int(time.time()) - 700)
    cases = {
        "garbage": "not.a.token",
        "forged": tokens.access_token(key=foreign_key, iss=server.issuer),
        "expired": expired,
        "another issuer": tokens.access_token(),
        "a disabled client's": tokens.access_token(iss=server.issuer, client_id="retired", sub="retired"),
        "an unknown client's": tokens.access_token(iss=server.issuer, client_id="gone", sub="gone"),
    }
    for name, token in cases.items():
        r = server.introspect(token)
        assert r.status == 200, (name, r)
        assert r.json() == {"active": False}, (name, r.json())
    # Signed by the server's key, for this issuer and a known client: active.
    assert server.introspect(tokens.access_token(iss=server.issuer)).json()["active"] is True
    assert server.envoy.counters_delta(before) == {
        "gatepass.introspection.inactive": len(cases),
        "gatepass.introspection.active": 1,
    }


def test_introspection_refusals(server):
    issued = server.token("billing", BILLING_SECRET).json()["access_token"]
    before = server.envoy.counters()
    not_allowed = server.introspect(issued, "billing", BILLING_SECRET)
    assert (not_allowed.status, not_allowed.json()["error"]) == (400, "unauthorized_client"), not_allowed
    wrong = server.introspect(issued, "introspector", "wrong")
    assert (wrong.status, wrong.json()["error"]) == (401, "invalid_client"), wrong
    no_token = server.envoy.post("/oauth/introspect", headers={**FORM, **basic("introspector", INTROSPECTOR_SECRET)}, body="", timeout=10)
    assert (no_token.status, no_token.json()["error"]) == (400, "invalid_request"), no_token
    assert server.envoy.counters_delta(before) == {"gatepass.introspection.refused": 3}


def test_metadata_advertises_introspection(server):
    r = server.envoy.get("/.well-known/oauth-authorization-server")
    doc = r.json()
    assert doc["introspection_endpoint"] == server.introspect_url, doc
    assert "private_key_jwt" in doc["introspection_endpoint_auth_methods_supported"]
