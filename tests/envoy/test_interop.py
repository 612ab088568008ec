"""Interop with third-party Python libraries in real Envoy, with each shell (the proxy-wasm
filter and the native module).

- PyJWT mints access tokens (EdDSA, ES256, RS256, PS256; `typ: at+jwt`) with keys it generated,
  and a provider configured with their JWKS — as PyJWT exports it — accepts them.
- Authlib (its requests `OAuth2Session`) obtains tokens from the Envoy token endpoint with
  `client_secret_basic`, `client_secret_post` and `private_key_jwt` (its `PrivateKeyJWT` client
  auth), and uses them on a protected route of the same Envoy.

What Authlib 1.9.6 sends for `private_key_jwt` by default (checked below on the wire): header
`typ: JWT` (joserfc's default), `aud` = the URL it posts to (the token endpoint), and
`exp - iat` = 3600 s. gatepass accepts `typ: JWT` and a one-hour lifetime on its default settings
(DESIGN.md: `typ` absent, `JWT` or `client-authentication+jwt`; `assertion_max_lifetime` 3600 s
by default), and wants the issuer identifier as `aud` (draft-ietf-oauth-rfc7523bis). So Authlib's
defaults with only its `token_endpoint` argument (used only as `aud`) set to the issuer get a
token; its default `aud` needs `allow_legacy_assertion_audience`; any other explicit `typ`
(`at+jwt`: an access token is no assertion) is refused, and `require_explicit_assertion_typ`
refuses `typ: JWT`.

The token endpoint's issuer here is the Envoy's own URL (`http://127.0.0.1:PORT`, loopback http
is allowed), so the token endpoint URL Authlib posts to is exactly the one gatepass derives: the
legacy-audience switch is tested for real. The same Authlib checks against the npm package's
server in Node are in test_npm_interop.py.
"""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc7523 import PrivateKeyJWT
from authlib.oauth2.rfc7523.assertion import private_key_jwt_sign
from joserfc.jwk import ECKey

import harness
import tokens

# ---------------------------------------------------------------------------------------------
# PyJWT-minted tokens, verified by gatepass

ALGS = ["EdDSA", "ES256", "RS256", "PS256"]
KEYS = {alg: tokens.new_key(alg, kid=f"pyjwt-{alg.lower()}") for alg in ALGS}
# A JWK exactly as PyJWT exports it, with only a kid added (no alg, no use).
BARE_KEY = tokens.new_key("ES256")[0]
BARE_JWK = {**jwt.algorithms.ECAlgorithm.to_jwk(BARE_KEY.public_key(), as_dict=True), "kid": "pyjwt-bare"}


@pytest.fixture(scope="module")
def pyjwt_envoy(module_shell, module_envoy_factory, module_upstream):
    jwks = tokens.jwks(*(jwk for _, jwk in KEYS.values()), BARE_JWK)
    config = harness.plugin_config({"main": harness.provider(jwks=jwks, algorithms=ALGS)})
    return module_envoy_factory(
        harness.gatepass_bootstrap(module_shell.wasm, config, upstream_port=module_upstream.port),
        name=f"pyjwt-{module_shell.name}",
    )


@pytest.mark.parametrize("alg", ALGS)
def test_pyjwt_access_token_is_accepted(pyjwt_envoy, alg):
    key, jwk = KEYS[alg]
    token = tokens.access_token(key=key, alg=alg, kid=jwk["kid"], client_id=f"pyjwt-{alg}")
    header, _ = tokens.decode_unverified(token)
    assert header == {"alg": alg, "kid": jwk["kid"], "typ": "at+jwt"}
    r = pyjwt_envoy.get("/orders/1", headers={"authorization": f"Bearer {token}"})
    assert r.status == 200, r
    assert r.json()["headers"]["x-client-id"] == f"pyjwt-{alg}"


def test_pyjwt_token_with_a_jwk_as_pyjwt_exports_it_is_accepted(pyjwt_envoy):
    token = tokens.access_token(key=BARE_KEY, alg="ES256", kid="pyjwt-bare")
    r = pyjwt_envoy.get("/orders/1", headers={"authorization": f"Bearer {token}"})
    assert r.status == 200, r


def test_pyjwt_token_signed_with_the_wrong_alg_for_its_key_is_refused(pyjwt_envoy):
    """RS256 key, PS256 signature: the key is pinned to RS256 (its JWK `alg`)."""
    key, jwk = KEYS["RS256"]
    token = tokens.access_token(key=key, alg="PS256", kid=jwk["kid"])
    r = pyjwt_envoy.get("/orders/1", headers={"authorization": f"Bearer {token}"})
    assert r.status == 401, r


# ---------------------------------------------------------------------------------------------
# Authlib against the Envoy token endpoint

BILLING_SECRET = "Xb1x0pZ4n8g0u3eW9k2rT7yQ5sV6mJ1cL4hA8dF3gE0"
PLUS_SECRET = "s3cr3t+with/plus"  # '+' means a space once form-urldecoded (RFC 6749 §2.3.1)
POSTER_SECRET = "p0ster-" + "x" * 40


class TokenServer:
    def __init__(self, envoy: harness.Envoy, issuer: str):
        self.envoy = envoy
        self.issuer = issuer
        self.token_url = issuer + "/oauth/token"

    def session(self, client_id: str, secret: Any, method: Any, **kw: Any) -> tuple[OAuth2Session, list]:
        """An Authlib session; the second value collects the requests it sent (for the wire)."""
        session = OAuth2Session(client_id, secret, token_endpoint_auth_method=method, **kw)
        sent: list = []
        session.hooks["response"].append(lambda r, *a, **k: sent.append(r.request))
        return session, sent

    def use(self, session: OAuth2Session, path: str = "/orders/1") -> harness.Response:
        """Calls a protected route with Authlib's own bearer header."""
        r = session.get(self.issuer + path, timeout=10)
        return harness.Response(r.status_code, r.reason, [(k.lower(), v) for k, v in r.headers.items()], r.content)


def _token_server(shell, factory, upstream_port: int, name: str, **te_overrides: Any) -> TokenServer:
    def bootstrap(issuer: str) -> dict[str, Any]:
        te = {
            "issuer": issuer,
            "signing_keys": [tokens.DEMO_PRIVATE_JWK],
            "default_audiences": [harness.AUDIENCE],
            "clients": [
                {
                    "client_id": "billing",
                    "token_endpoint_auth_method": "client_secret_basic",
                    "client_secret_hash": tokens.secret_hash(BILLING_SECRET),
                    "scope": "orders:read",
                },
                {
                    "client_id": "plus",
                    "token_endpoint_auth_method": "client_secret_basic",
                    "client_secret_hash": tokens.secret_hash(PLUS_SECRET),
                    "scope": "orders:read",
                },
                {
                    "client_id": "poster",
                    "token_endpoint_auth_method": "client_secret_post",
                    "client_secret_hash": tokens.secret_hash(POSTER_SECRET),
                    "scope": "orders:read",
                },
                {
                    "client_id": "worker",
                    "token_endpoint_auth_method": "private_key_jwt",
                    "jwks": tokens.WORKER_PUBLIC_JWKS,
                    "scope": "orders:read orders:write",
                },
            ],
            **te_overrides,
        }
        config = harness.plugin_config(
            {"main": harness.provider(jwks=tokens.DEMO_PUBLIC_JWKS, issuer=issuer)}, token_endpoint=te
        )
        return harness.gatepass_bootstrap(shell.wasm, config, upstream_port=upstream_port)

    envoy, issuer = harness.envoy_at_own_url(factory, bootstrap, name)
    return TokenServer(envoy, issuer)


@pytest.fixture(scope="module")
def defaults(module_shell, module_envoy_factory, module_upstream) -> TokenServer:
    """Default assertion rules: `aud` the issuer, `typ` absent, `JWT` or
    `client-authentication+jwt`, lifetime ≤ 3600 s."""
    return _token_server(module_shell, module_envoy_factory, module_upstream.port, f"defaults-{module_shell.name}")


@pytest.fixture(scope="module")
def legacy(module_shell, module_envoy_factory, module_upstream) -> TokenServer:
    """`allow_legacy_assertion_audience: true`."""
    return _token_server(
        module_shell,
        module_envoy_factory,
        module_upstream.port,
        f"legacy-{module_shell.name}",
        allow_legacy_assertion_audience=True,
    )


@pytest.fixture(scope="module")
def explicit_typ(module_shell, module_envoy_factory, module_upstream) -> TokenServer:
    """`require_explicit_assertion_typ: true`."""
    return _token_server(
        module_shell,
        module_envoy_factory,
        module_upstream.port,
        f"explicit-typ-{module_shell.name}",
        require_explicit_assertion_typ=True,
    )


def worker_key() -> ECKey:
    return ECKey.import_key(tokens.WORKER_PRIVATE_JWK)


def sent_assertion(sent: list) -> tuple[dict, dict]:
    from urllib.parse import parse_qs

    body = [r for r in sent if r.method == "POST"][-1].body
    form = parse_qs(body if isinstance(body, str) else body.decode())
    assert form["client_assertion_type"] == [tokens.ASSERTION_TYPE], form
    return tokens.decode_unverified(form["client_assertion"][0])


def test_authlib_client_secret_basic_gets_a_token_that_the_gateway_accepts(defaults):
    session, sent = defaults.session("billing", BILLING_SECRET, "client_secret_basic")
    token = session.fetch_token(defaults.token_url, grant_type="client_credentials")
    assert token["token_type"].lower() == "bearer" and token["access_token"], token
    assert sent[-1].headers["Authorization"].startswith("Basic "), sent[-1].headers
    r = defaults.use(session)
    assert r.status == 200, r
    assert r.json()["headers"]["x-client-id"] == "billing"


def test_authlib_client_secret_post_gets_a_token_that_the_gateway_accepts(defaults):
    session, sent = defaults.session("poster", POSTER_SECRET, "client_secret_post")
    session.fetch_token(defaults.token_url, grant_type="client_credentials")
    assert "Authorization" not in sent[-1].headers
    assert defaults.use(session).status == 200


def test_authlib_basic_does_not_form_encode_the_secret_so_a_plus_in_it_fails(defaults):
    """Authlib base64-encodes `client_id:secret` as is; RFC 6749 §2.3.1 form-urlencodes them
    first, and gatepass decodes accordingly, so a '+' in a secret reaches it as a space. The
    same secret encoded as §2.3.1 says passes."""
    session, _ = defaults.session("plus", PLUS_SECRET, "client_secret_basic")
    with pytest.raises(OAuthError) as e:
        session.fetch_token(defaults.token_url, grant_type="client_credentials")
    assert e.value.error == "invalid_client"

    from urllib.parse import quote_plus

    encoded = OAuth2Session("plus", quote_plus(PLUS_SECRET), token_endpoint_auth_method="client_secret_basic")
    assert encoded.fetch_token(defaults.token_url, grant_type="client_credentials")["access_token"]


def test_authlib_private_key_jwt_defaults_with_the_issuer_as_audience_get_a_token_the_gateway_accepts(defaults):
    """Authlib's `PrivateKeyJWT` as it comes (typ JWT, 3600 s lifetime), only `token_endpoint`
    (its `aud`) set to the issuer, against the default settings."""
    auth = PrivateKeyJWT(token_endpoint=defaults.issuer, alg="ES256")
    session, sent = defaults.session("worker", worker_key(), auth)
    token = session.fetch_token(defaults.token_url, grant_type="client_credentials")
    header, claims = sent_assertion(sent)
    # What Authlib 1.9.6 sends (reported by this test if it ever changes).
    assert header == {"alg": "ES256", "typ": "JWT"}, header
    assert claims["aud"] == defaults.issuer, claims
    assert claims["iss"] == claims["sub"] == "worker" and claims["jti"], claims
    assert claims["exp"] - claims["iat"] == 3600, claims
    assert token["scope"] == "orders:read orders:write", token
    r = defaults.use(session)
    assert r.status == 200, r
    assert r.json()["headers"]["x-client-id"] == "worker"
    # A second fetch signs a new assertion with a new jti: accepted too.
    session.fetch_token(defaults.token_url, grant_type="client_credentials")
    assert sent_assertion(sent)[1]["jti"] != claims["jti"]


def test_authlib_private_key_jwt_with_the_explicit_typ_succeeds(defaults):
    """`headers={"typ": "client-authentication+jwt"}` (draft-ietf-oauth-rfc7523bis §4)."""
    auth = PrivateKeyJWT(token_endpoint=defaults.issuer, headers={"typ": "client-authentication+jwt"}, alg="ES256")
    session, sent = defaults.session("worker", worker_key(), auth)
    session.fetch_token(defaults.token_url, grant_type="client_credentials")
    assert sent_assertion(sent)[0]["typ"] == "client-authentication+jwt"
    assert defaults.use(session).status == 200


def test_authlib_token_endpoint_audience_needs_the_legacy_switch(defaults, legacy):
    """Authlib's default `aud` (the token endpoint URL), everything else default too: refused
    by default (naming aud), accepted with `allow_legacy_assertion_audience: true`."""
    for server, ok in ((defaults, False), (legacy, True)):
        session, sent = server.session("worker", worker_key(), PrivateKeyJWT(alg="ES256"))
        if ok:
            session.fetch_token(server.token_url, grant_type="client_credentials")
            assert server.use(session).status == 200
        else:
            with pytest.raises(OAuthError) as e:
                session.fetch_token(server.token_url, grant_type="client_credentials")
            assert e.value.error == "invalid_client"
            assert "aud" in e.value.description, e.value.description
        header, claims = sent_assertion(sent)
        assert claims["aud"] == server.token_url and header["typ"] == "JWT"


def test_authlib_assertion_typed_at_jwt_is_refused_even_with_the_legacy_switch(defaults, legacy):
    """RFC 8725 §3.11: a JWT whose header says it is an access token is no assertion, whatever
    the audience settings."""
    for server in (defaults, legacy):
        auth = PrivateKeyJWT(token_endpoint=server.issuer, headers={"typ": "at+jwt"}, alg="ES256")
        session, sent = server.session("worker", worker_key(), auth)
        with pytest.raises(OAuthError) as e:
            session.fetch_token(server.token_url, grant_type="client_credentials")
        assert e.value.error == "invalid_client"
        assert "typ" in e.value.description, e.value.description
        assert sent_assertion(sent)[0]["typ"] == "at+jwt"


def test_an_access_token_from_this_endpoint_is_refused_as_an_assertion(defaults):
    """The access token Authlib obtained, sent back as the worker's `client_assertion`."""
    session, _ = defaults.session("worker", worker_key(), PrivateKeyJWT(token_endpoint=defaults.issuer, alg="ES256"))
    access_token = session.fetch_token(defaults.token_url, grant_type="client_credentials")["access_token"]
    assert tokens.decode_unverified(access_token)[0]["typ"] == "at+jwt"
    r = defaults.envoy.post(
        "/oauth/token",
        headers={"content-type": "application/x-www-form-urlencoded"},
        body=tokens.assertion_form(access_token),
    )
    assert r.status == 401 and r.json()["error"] == "invalid_client", r
    assert "typ" in r.json()["error_description"], r


def test_require_explicit_assertion_typ_refuses_authlibs_typ_JWT(explicit_typ):
    """With `require_explicit_assertion_typ: true` Authlib needs the explicit `typ`."""
    auth = PrivateKeyJWT(token_endpoint=explicit_typ.issuer, alg="ES256")
    session, sent = explicit_typ.session("worker", worker_key(), auth)
    with pytest.raises(OAuthError) as e:
        session.fetch_token(explicit_typ.token_url, grant_type="client_credentials")
    assert e.value.error == "invalid_client"
    assert "typ" in e.value.description, e.value.description
    assert sent_assertion(sent)[0]["typ"] == "JWT"

    auth = PrivateKeyJWT(token_endpoint=explicit_typ.issuer, headers={"typ": "client-authentication+jwt"}, alg="ES256")
    session, _ = explicit_typ.session("worker", worker_key(), auth)
    session.fetch_token(explicit_typ.token_url, grant_type="client_credentials")
    assert explicit_typ.use(session).status == 200


def test_authlib_assertion_over_an_hour_is_refused(defaults):
    """The default `assertion_max_lifetime` is 3600 s: Authlib's own signer with one second more
    is refused (naming the lifetime), and MSAL's 600 s passes."""

    def signer(expires_in: int) -> PrivateKeyJWT:
        class Lifetime(PrivateKeyJWT):
            def sign(self, auth, token_endpoint):
                return private_key_jwt_sign(
                    auth.client_secret,
                    client_id=auth.client_id,
                    token_endpoint=token_endpoint,
                    header=dict(self.headers or {}),
                    alg=self.alg,
                    expires_in=expires_in,
                )

        return Lifetime(token_endpoint=defaults.issuer, alg="ES256")

    session, sent = defaults.session("worker", worker_key(), signer(3601))
    with pytest.raises(OAuthError) as e:
        session.fetch_token(defaults.token_url, grant_type="client_credentials")
    assert e.value.error == "invalid_client" and "lifetime" in e.value.description, e.value
    _, claims = sent_assertion(sent)
    assert claims["exp"] - claims["iat"] == 3601

    session, sent = defaults.session("worker", worker_key(), signer(600))
    session.fetch_token(defaults.token_url, grant_type="client_credentials")
    assert sent_assertion(sent)[1]["exp"] - sent_assertion(sent)[1]["iat"] == 600


def test_authlib_private_key_jwt_with_claims_reuses_its_jti_and_the_replay_is_refused(defaults):
    """Authlib writes the generated `jti` into the `claims` dict given to PrivateKeyJWT, so every
    later assertion of that client object reuses it: gatepass accepts the first and refuses the
    next as a replay (OpenID Connect Core §9)."""
    auth = PrivateKeyJWT(
        token_endpoint=defaults.issuer,
        alg="ES256",
        claims={"purpose": "interop"},
    )
    session, sent = defaults.session("worker", worker_key(), auth)
    session.fetch_token(defaults.token_url, grant_type="client_credentials")
    first_jti = sent_assertion(sent)[1]["jti"]
    time.sleep(1.1)  # a new iat, so the assertion differs in everything but its jti
    with pytest.raises(OAuthError) as e:
        session.fetch_token(defaults.token_url, grant_type="client_credentials")
    assert e.value.error == "invalid_client"
    assert sent_assertion(sent)[1]["jti"] == first_jti
