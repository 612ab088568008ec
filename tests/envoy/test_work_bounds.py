"""Bounded work before authentication at the token endpoint in real Envoy (issue 11,
`core/src/limits.rs`, SECURITY.md "Work per request"): each cap on a token request is refused by
the filter with the RFC 6749 / RFC 8707 error of what it breaks and a description naming the cap,
at-cap requests are still answered normally, an impossible client id gets exactly the unknown
client's answer, and none of it reaches the upstream. How long these take is measured by
`bash bench/worst-case.sh`, not here.
"""

from __future__ import annotations

from urllib.parse import urlencode

import pytest

import tokens
from test_token_endpoint import (
    BILLING_SECRET,
    assert_invalid_client,
    assert_token_response,
    basic,
    post_token,
    server_config,
    token_bootstrap,
    token_requests_seen,
)

# core/src/limits.rs
MAX_FORM_PARAMETERS = 64
MAX_SCOPE_TOKENS = 256
MAX_RESOURCES = 16
MAX_AUTHORIZATION_BYTES = 8 * 1024
MAX_SMALL_JSON_VALUES = 64


@pytest.fixture(scope="module")
def envoy(module_shell, module_envoy_factory, module_upstream):
    return module_envoy_factory(
        token_bootstrap(module_shell.wasm, server_config(), module_upstream.port),
        name=f"work-bounds-{module_shell.name}",
    )


def billing(envoy, params: list[tuple[str, str]]):
    return post_token(envoy, urlencode(params), basic("billing", BILLING_SECRET))


def assert_refused(r, status: int, error: str, saying: str):
    assert r.status == status, r
    body = r.json()
    assert body["error"] == error, body
    assert saying in body["error_description"], body
    assert "access_token" not in body, body


def test_form_parameters_are_capped_at_64(envoy, module_upstream):
    ignored = [(f"x{i}", "1") for i in range(MAX_FORM_PARAMETERS - 1)]
    at_cap = [("grant_type", "client_credentials"), *ignored]
    assert_token_response(billing(envoy, at_cap), "billing", "orders:read")
    r = billing(envoy, [*at_cap, ("one_more", "1")])
    assert_refused(r, 400, "invalid_request", f"more than {MAX_FORM_PARAMETERS} form parameters")
    assert token_requests_seen(module_upstream) == []


@pytest.mark.parametrize("count", [MAX_SCOPE_TOKENS + 1, 10_000])
def test_scope_tokens_are_capped_at_256(envoy, module_upstream, count):
    # 10,000 distinct tokens in one ~59 KB body: the quadratic de-duplication issue 11 found.
    scope = " ".join(f"s{i}" for i in range(count))
    r = billing(envoy, [("grant_type", "client_credentials"), ("scope", scope)])
    assert_refused(r, 400, "invalid_scope", f"more than {MAX_SCOPE_TOKENS} scope tokens")
    assert token_requests_seen(module_upstream) == []


def test_resource_values_are_capped_at_16(envoy, module_upstream):
    resources = [("resource", f"https://api{i}.example") for i in range(MAX_RESOURCES + 1)]
    r = billing(envoy, [("grant_type", "client_credentials"), *resources])
    assert_refused(r, 400, "invalid_target", f"more than {MAX_RESOURCES} resource values")
    assert token_requests_seen(module_upstream) == []


@pytest.mark.parametrize("client_id", ["c" * 256, "c" * 30_000, "a\tb", "caf\u00e9"])
def test_impossible_client_id_gets_the_unknown_clients_answer(envoy, client_id):
    unknown = post_token(
        envoy,
        urlencode({"grant_type": "client_credentials", "client_id": "nobody", "client_secret": "x"}),
    )
    odd = post_token(
        envoy,
        urlencode({"grant_type": "client_credentials", "client_id": client_id, "client_secret": "x"}),
    )
    assert_invalid_client(unknown, basic_challenge=True)
    assert (odd.status, odd.json()) == (unknown.status, unknown.json()), (odd, unknown)


def test_authorization_header_over_8_kib_is_invalid_client(envoy, module_upstream):
    r = post_token(
        envoy,
        urlencode({"grant_type": "client_credentials"}),
        basic("billing", "s" * MAX_AUTHORIZATION_BYTES),
    )
    assert_invalid_client(r)
    assert token_requests_seen(module_upstream) == []


def test_client_assertion_with_too_many_claims_is_invalid_client(envoy, module_upstream):
    extra = {f"x{i}": 0 for i in range(MAX_SMALL_JSON_VALUES)}
    over = tokens.client_assertion(**extra)
    assert_invalid_client(post_token(envoy, tokens.assertion_form(over)), basic_challenge=False)
    # A handful of extra claims is an ordinary assertion.
    fine = tokens.client_assertion(x=[1, 2, 3])
    r = post_token(envoy, tokens.assertion_form(fine))
    assert r.status == 200, r
    assert token_requests_seen(module_upstream) == []
