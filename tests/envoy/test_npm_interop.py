"""Authlib against the npm package's authorization server, in real Node.

The server is node-binding/examples/edge-server.mjs (the package `gatepass` on node:http, as
`make demo` runs it); the package must be built first (`bash node-binding/build.sh`;
scripts/test.sh builds it before this step). A `private_key_jwt` client registers its public
JWKS through RFC 7591, then Authlib's `PrivateKeyJWT` asks for tokens.

The same rules as the Envoy token endpoint (test_interop.py), from the same core: Authlib's
defaults (`typ: JWT`, `exp - iat` = 3600 s) with only `token_endpoint` (its `aud`) set to the
issuer get a token on the default settings; its default `aud` (the token endpoint URL) is refused
without `allow_legacy_assertion_audience`; an assertion typed `at+jwt`, or an access token of this
server, is refused (draft-ietf-oauth-rfc7523bis §4, RFC 8725 §3.11).
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import socket
import subprocess
import time
from pathlib import Path
from typing import Any, Iterator

import jwt
import pytest
import requests
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc7523 import PrivateKeyJWT
from joserfc.jwk import ECKey

import harness
import tokens

EDGE_SERVER = harness.ROOT / "node-binding" / "examples" / "edge-server.mjs"
PACKAGE_WASM = harness.ROOT / "node-binding" / "dist" / "wasm" / "gatepass_node_bg.wasm"
AUDIENCE = harness.AUDIENCE


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class EdgeServer:
    """The running Node server: its issuer (= its own origin) and the registered worker."""

    def __init__(self, process: subprocess.Popen, issuer: str, initial_access_token: str):
        self.process = process
        self.issuer = issuer
        self.token_url = issuer + "/oauth/token"
        self.initial_access_token = initial_access_token
        self.client_id = ""
        self.log: Path | None = None

    def register_worker(self) -> str:
        """RFC 7591 registration of a private_key_jwt client with the worker's public JWKS."""
        r = requests.post(
            self.issuer + "/oauth/register",
            headers={"authorization": f"Bearer {self.initial_access_token}"},
            json={
                "client_name": "authlib-worker",
                "token_endpoint_auth_method": "private_key_jwt",
                "token_endpoint_auth_signing_alg": "ES256",
                "scope": "orders:read",
                "jwks": tokens.WORKER_PUBLIC_JWKS,
            },
            timeout=10,
        )
        assert r.status_code == 201, r.text
        return r.json()["client_id"]

    def session(self, auth: PrivateKeyJWT) -> tuple[OAuth2Session, list]:
        session = OAuth2Session(self.client_id, ECKey.import_key(tokens.WORKER_PRIVATE_JWK), token_endpoint_auth_method=auth)
        sent: list = []
        session.hooks["response"].append(lambda r, *a, **k: sent.append(r.request))
        return session, sent


def _start(issuer_port: int, log: Path) -> tuple[subprocess.Popen, str]:
    initial_access_token = base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode()
    env = {
        **os.environ,
        "GATEPASS_ISSUER": f"http://127.0.0.1:{issuer_port}",
        "GATEPASS_AUDIENCE": AUDIENCE,
        "GATEPASS_INITIAL_ACCESS_TOKEN": initial_access_token,
        "GATEPASS_ALLOWED_SCOPE": "orders:read",
        "PORT": str(issuer_port),
    }
    with open(log, "w") as err:
        process = subprocess.Popen(["node", str(EDGE_SERVER)], env=env, stdout=subprocess.PIPE, stderr=err, text=True)
    return process, initial_access_token


@pytest.fixture(scope="module")
def edge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EdgeServer]:
    if not PACKAGE_WASM.is_file():
        pytest.fail(f"{PACKAGE_WASM} is missing: run `bash node-binding/build.sh` first", pytrace=False)
    log = tmp_path_factory.mktemp("edge-server") / "stderr.log"
    for attempt in range(3):  # the port is chosen before Node binds it: retry on a lost race
        port = _free_port()
        process, initial_access_token = _start(port, log)
        line = process.stdout.readline() if process.stdout else ""
        if f"http://127.0.0.1:{port}" in line:
            break
        process.kill()
        process.wait(timeout=10)
        if attempt == 2:
            pytest.fail(f"the edge server did not start: {line!r}\n{log.read_text()[-3000:]}", pytrace=False)
    server = EdgeServer(process, f"http://127.0.0.1:{port}", initial_access_token)
    server.log = log
    try:
        server.client_id = server.register_worker()
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def sent_assertion(sent: list) -> tuple[dict, dict]:
    from urllib.parse import parse_qs

    body = [r for r in sent if r.method == "POST"][-1].body
    form = parse_qs(body if isinstance(body, str) else body.decode())
    assert form["client_assertion_type"] == [tokens.ASSERTION_TYPE], form
    return tokens.decode_unverified(form["client_assertion"][0])


def verified_claims(edge: EdgeServer, access_token: str) -> dict[str, Any]:
    """The access token checked by PyJWT with the JWKS the server publishes (RFC 9068)."""
    jwks = requests.get(edge.issuer + "/.well-known/jwks.json", timeout=10).json()
    header = jwt.get_unverified_header(access_token)
    assert header["typ"] == "at+jwt", header
    key = jwt.PyJWKSet.from_dict(jwks)[header["kid"]]
    return jwt.decode(access_token, key, algorithms=[header["alg"]], audience=AUDIENCE, issuer=edge.issuer)


def test_authlib_private_key_jwt_defaults_with_the_issuer_as_audience_get_a_token_from_node(edge):
    """Authlib's `PrivateKeyJWT` as it comes, only `token_endpoint` (its `aud`) set to the
    issuer: typ JWT and a 3600 s lifetime are accepted on the server's default settings."""
    session, sent = edge.session(PrivateKeyJWT(token_endpoint=edge.issuer, alg="ES256"))
    token = session.fetch_token(edge.token_url, grant_type="client_credentials")
    header, claims = sent_assertion(sent)
    assert header == {"alg": "ES256", "typ": "JWT"}, header
    assert claims["aud"] == edge.issuer and claims["exp"] - claims["iat"] == 3600, claims
    assert token["token_type"].lower() == "bearer" and token["scope"] == "orders:read", token
    verified = verified_claims(edge, token["access_token"])
    assert verified["client_id"] == verified["sub"] == edge.client_id, verified
    # A second fetch signs a new assertion with a new jti: accepted too.
    session.fetch_token(edge.token_url, grant_type="client_credentials")
    assert sent_assertion(sent)[1]["jti"] != claims["jti"]


def test_authlib_default_audience_is_refused_by_node_without_the_legacy_switch(edge):
    """Authlib's default `aud` is the token endpoint URL: draft-ietf-oauth-rfc7523bis wants the
    issuer identifier, and the edge server does not set `allow_legacy_assertion_audience`."""
    session, sent = edge.session(PrivateKeyJWT(alg="ES256"))
    with pytest.raises(OAuthError) as e:
        session.fetch_token(edge.token_url, grant_type="client_credentials")
    assert e.value.error == "invalid_client" and "aud" in e.value.description, e.value
    assert sent_assertion(sent)[1]["aud"] == edge.token_url


def test_authlib_assertion_typed_at_jwt_is_refused_by_node(edge):
    """RFC 8725 §3.11: a JWT whose header says it is an access token is no assertion."""
    session, sent = edge.session(PrivateKeyJWT(token_endpoint=edge.issuer, headers={"typ": "at+jwt"}, alg="ES256"))
    with pytest.raises(OAuthError) as e:
        session.fetch_token(edge.token_url, grant_type="client_credentials")
    assert e.value.error == "invalid_client" and "typ" in e.value.description, e.value
    assert sent_assertion(sent)[0]["typ"] == "at+jwt"


def test_an_access_token_from_node_is_refused_as_an_assertion(edge):
    """The access token Authlib obtained, sent back as the client's `client_assertion`."""
    session, _ = edge.session(PrivateKeyJWT(token_endpoint=edge.issuer, alg="ES256"))
    access_token = session.fetch_token(edge.token_url, grant_type="client_credentials")["access_token"]
    r = requests.post(edge.token_url, data=tokens.assertion_form(access_token),
                      headers={"content-type": "application/x-www-form-urlencoded"}, timeout=10)
    assert r.status_code == 401 and r.json()["error"] == "invalid_client", r.text
    assert "typ" in r.json()["error_description"], r.text


def test_edge_server_is_still_running(edge):
    """Nothing above took the Node process down (its stderr is shown if it did)."""
    time.sleep(0.1)
    if edge.process.poll() is not None:
        err = edge.log.read_text() if edge.log else ""
        pytest.fail(f"the edge server exited with {edge.process.returncode}: {err[-3000:]}")
    assert json.loads(requests.get(edge.issuer + "/.well-known/oauth-authorization-server", timeout=10).text)["issuer"] == edge.issuer
