"""Interop with third-party Python libraries in real Envoy.

- PyJWT mints access tokens (EdDSA, ES256, RS256, PS256; `typ: at+jwt`) with keys it generated,
  and a provider configured with their JWKS — as PyJWT exports it — accepts them.
- Authlib (its requests `OAuth2Session`) obtains tokens from the Envoy token endpoint with
  `client_secret_basic`, `client_secret_post` and `private_key_jwt` (its `PrivateKeyJWT` client
  auth), and uses them on a protected route of the same Envoy.

What Authlib 1.9.6 sends for `private_key_jwt` by default (checked below on the wire): header
`typ: JWT` (joserfc's default), `aud` = the URL it posts to (the token endpoint), and
`exp - iat` = 3600 s. gatepass refuses each of the three by design (draft-ietf-oauth-rfc7523bis
`typ` absent or `client-authentication+jwt`; `aud` = the issuer identifier; assertion lifetime
≤ `assertion_max_lifetime`, 300 s by default), so a default Authlib client gets
`invalid_client`; configured with `headers={"typ": "client-authentication+jwt"}` and the issuer
as its `token_endpoint` argument (which is only used as `aud`), plus either a server
`assertion_max_lifetime` of 3600s or a shorter assertion, it succeeds.

The token endpoint's issuer here is the Envoy's own URL (`http://127.0.0.1:PORT`, loopback http
is allowed), so the token endpoint URL Authlib posts to is exactly the one gatepass derives: the
legacy-audience switch is tested for real.
"""

from __future__ import annotations

import socket
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
def pyjwt_envoy(filter_wasm, module_envoy_factory, module_upstream):
    jwks = tokens.jwks(*(jwk for _, jwk in KEYS.values()), BARE_JWK)
    config = harness.plugin_config({"main": harness.provider(jwks=jwks, algorithms=ALGS)})
    return module_envoy_factory(
        harness.gatepass_bootstrap(filter_wasm, config, upstream_port=module_upstream.port), name="pyjwt"
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


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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


def _token_server(filter_wasm, factory, upstream_port: int, name: str, **te_overrides: Any) -> TokenServer:
    for attempt in range(3):  # the port is chosen before Envoy binds it: retry on a lost race
        port = _free_port()
        issuer = f"http://127.0.0.1:{port}"
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
        b = harness.gatepass_bootstrap(filter_wasm, config, upstream_port=upstream_port)
        b["static_resources"]["listeners"][0]["address"]["socket_address"]["port_value"] = port
        try:
            return TokenServer(factory(b, name=f"{name}{attempt}"), issuer)
        except harness.EnvoyStartError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


@pytest.fixture(scope="module")
def strict(filter_wasm, module_envoy_factory, module_upstream) -> TokenServer:
    """Defaults: assertion `aud` must be the issuer, lifetime ≤ 300 s."""
    return _token_server(filter_wasm, module_envoy_factory, module_upstream.port, "strict")


@pytest.fixture(scope="module")
def lenient(filter_wasm, module_envoy_factory, module_upstream) -> TokenServer:
    """`allow_legacy_assertion_audience: true` and `assertion_max_lifetime: 3600s`."""
    return _token_server(
        filter_wasm,
        module_envoy_factory,
        module_upstream.port,
        "lenient",
        allow_legacy_assertion_audience=True,
        assertion_max_lifetime="3600s",
    )


def worker_key() -> ECKey:
    return ECKey.import_key(tokens.WORKER_PRIVATE_JWK)


def sent_assertion(sent: list) -> tuple[dict, dict]:
    from urllib.parse import parse_qs

    body = [r for r in sent if r.method == "POST"][-1].body
    form = parse_qs(body if isinstance(body, str) else body.decode())
    assert form["client_assertion_type"] == [tokens.ASSERTION_TYPE], form
    return tokens.decode_unverified(form["client_assertion"][0])


def test_authlib_client_secret_basic_gets_a_token_that_the_gateway_accepts(strict):
    session, sent = strict.session("billing", BILLING_SECRET, "client_secret_basic")
    token = session.fetch_token(strict.token_url, grant_type="client_credentials")
    assert token["token_type"].lower() == "bearer" and token["access_token"], token
    assert sent[-1].headers["Authorization"].startswith("Basic "), sent[-1].headers
    r = strict.use(session)
    assert r.status == 200, r
    assert r.json()["headers"]["x-client-id"] == "billing"


def test_authlib_client_secret_post_gets_a_token_that_the_gateway_accepts(strict):
    session, sent = strict.session("poster", POSTER_SECRET, "client_secret_post")
    session.fetch_token(strict.token_url, grant_type="client_credentials")
    assert "Authorization" not in sent[-1].headers
    assert strict.use(session).status == 200


def test_authlib_basic_does_not_form_encode_the_secret_so_a_plus_in_it_fails(strict):
    """Authlib base64-encodes `client_id:secret` as is; RFC 6749 §2.3.1 form-urlencodes them
    first, and gatepass decodes accordingly, so a '+' in a secret reaches it as a space. The
    same secret encoded as §2.3.1 says passes."""
    session, _ = strict.session("plus", PLUS_SECRET, "client_secret_basic")
    with pytest.raises(OAuthError) as e:
        session.fetch_token(strict.token_url, grant_type="client_credentials")
    assert e.value.error == "invalid_client"

    from urllib.parse import quote_plus

    encoded = OAuth2Session("plus", quote_plus(PLUS_SECRET), token_endpoint_auth_method="client_secret_basic")
    assert encoded.fetch_token(strict.token_url, grant_type="client_credentials")["access_token"]


def test_authlib_private_key_jwt_defaults_are_refused_with_invalid_client(strict):
    """Authlib's default assertion: typ JWT, aud = token endpoint URL, lifetime 3600 s."""
    session, sent = strict.session("worker", worker_key(), PrivateKeyJWT(alg="ES256"))
    with pytest.raises(OAuthError) as e:
        session.fetch_token(strict.token_url, grant_type="client_credentials")
    assert e.value.error == "invalid_client", e.value
    header, claims = sent_assertion(sent)
    # What Authlib 1.9.6 sends (reported by this test if it ever changes).
    assert header == {"alg": "ES256", "typ": "JWT"}, header
    assert claims["aud"] == strict.token_url, claims
    assert claims["iss"] == claims["sub"] == "worker" and claims["jti"], claims
    assert claims["exp"] - claims["iat"] == 3600, claims
    # The first rule it breaks is typ.
    assert "typ" in e.value.description, e.value.description


def test_authlib_private_key_jwt_with_issuer_audience_and_typ_succeeds(lenient):
    """`token_endpoint=<issuer>` (Authlib uses it only as `aud`) and the rfc7523bis `typ`; the
    server allows Authlib's fixed 3600 s lifetime (`assertion_max_lifetime: 3600s`)."""
    auth = PrivateKeyJWT(token_endpoint=lenient.issuer, headers={"typ": "client-authentication+jwt"}, alg="ES256")
    session, sent = lenient.session("worker", worker_key(), auth)
    token = session.fetch_token(lenient.token_url, grant_type="client_credentials")
    header, claims = sent_assertion(sent)
    assert header["typ"] == "client-authentication+jwt" and claims["aud"] == lenient.issuer
    assert token["scope"] == "orders:read orders:write", token
    assert lenient.use(session).status == 200
    # A second fetch signs a new assertion with a new jti: accepted too.
    session.fetch_token(lenient.token_url, grant_type="client_credentials")
    assert sent_assertion(sent)[1]["jti"] != claims["jti"]


def test_authlib_private_key_jwt_with_a_short_assertion_succeeds_on_default_settings(strict):
    """Against the defaults (300 s max lifetime), a PrivateKeyJWT that signs with Authlib's own
    `private_key_jwt_sign` but a 60 s lifetime succeeds."""

    class ShortPrivateKeyJWT(PrivateKeyJWT):
        def sign(self, auth, token_endpoint):
            return private_key_jwt_sign(
                auth.client_secret,
                client_id=auth.client_id,
                token_endpoint=token_endpoint,
                header=dict(self.headers or {}),
                alg=self.alg,
                expires_in=60,
            )

    auth = ShortPrivateKeyJWT(token_endpoint=strict.issuer, headers={"typ": "client-authentication+jwt"}, alg="ES256")
    session, sent = strict.session("worker", worker_key(), auth)
    session.fetch_token(strict.token_url, grant_type="client_credentials")
    _, claims = sent_assertion(sent)
    assert claims["exp"] - claims["iat"] == 60
    assert strict.use(session).status == 200


def test_authlib_token_endpoint_audience_needs_the_legacy_switch(strict, lenient):
    """Authlib's default `aud` (the token endpoint URL), with the typ fixed: refused by default,
    accepted with `allow_legacy_assertion_audience: true`."""
    for server, ok in ((strict, False), (lenient, True)):
        auth = PrivateKeyJWT(headers={"typ": "client-authentication+jwt"}, alg="ES256")
        session, sent = server.session("worker", worker_key(), auth)
        if ok:
            session.fetch_token(server.token_url, grant_type="client_credentials")
            assert server.use(session).status == 200
        else:
            with pytest.raises(OAuthError) as e:
                session.fetch_token(server.token_url, grant_type="client_credentials")
            assert e.value.error == "invalid_client"
            assert "aud" in e.value.description, e.value.description
        assert sent_assertion(sent)[1]["aud"] == server.token_url


def test_authlib_default_typ_JWT_is_refused_even_with_the_legacy_switch(lenient):
    """gatepass accepts `typ` absent or `client-authentication+jwt` only: Authlib's default
    `typ: JWT` is refused whatever the audience settings."""
    session, sent = lenient.session("worker", worker_key(), PrivateKeyJWT(alg="ES256"))
    with pytest.raises(OAuthError) as e:
        session.fetch_token(lenient.token_url, grant_type="client_credentials")
    assert e.value.error == "invalid_client"
    assert "typ" in e.value.description, e.value.description
    assert sent_assertion(sent)[0]["typ"] == "JWT"


def test_authlib_private_key_jwt_with_claims_reuses_its_jti_and_the_replay_is_refused(lenient):
    """Authlib writes the generated `jti` into the `claims` dict given to PrivateKeyJWT, so every
    later assertion of that client object reuses it: gatepass accepts the first and refuses the
    next as a replay (OpenID Connect Core §9)."""
    auth = PrivateKeyJWT(
        token_endpoint=lenient.issuer,
        headers={"typ": "client-authentication+jwt"},
        alg="ES256",
        claims={"purpose": "interop"},
    )
    session, sent = lenient.session("worker", worker_key(), auth)
    session.fetch_token(lenient.token_url, grant_type="client_credentials")
    first_jti = sent_assertion(sent)[1]["jti"]
    time.sleep(1.1)  # a new iat, so the assertion differs in everything but its jti
    with pytest.raises(OAuthError) as e:
        session.fetch_token(lenient.token_url, grant_type="client_credentials")
    assert e.value.error == "invalid_client"
    assert sent_assertion(sent)[1]["jti"] == first_jti
