"""A fleet of Envoys on one replay store in etcd (`token_endpoint.replay_store.etcd`): a real
3-member etcd cluster on loopback (tests/envoy/etcd.py) and two Envoys started with the shipped
envoy/token-endpoint-etcd.yaml, one with each shell (the proxy-wasm filter, the native module).

- One client assertion sent to both Envoys at once, 100 rounds: exactly one token per round,
  the other request 401 `invalid_client`; the keys are in etcd, under few leases.
- The leader stopped during a run: no round issues two tokens, and tokens keep being issued.
- Two members stopped (no quorum): token requests fail closed, 503 `temporarily_unavailable`
  with `Retry-After`, counted; enforcement keeps answering; service resumes when the members
  return.
- An etcd cluster with no endpoint (Envoy answers "no healthy upstream" inside the call that
  starts it): 503, and Envoy keeps serving.
- etcd with client-certificate authentication: the Envoy whose cluster presents a certificate
  of etcd's CA records assertions; one without gets 503.

The fault tests run in this order on one cluster; each brings its members back before it ends.
"""

from __future__ import annotations

import collections
import threading
import time
import uuid

import pytest

import harness
import tokens
from etcd import ClientTls, EtcdCluster

TOKEN_PATH = "/oauth/token"
FORM = {"content-type": "application/x-www-form-urlencoded"}
ETCD_TIMEOUT_MS = 500  # replay_store.etcd.timeout in the shipped config
PREFIX = "gatepass/replay/"  # replay_store.etcd.prefix in the shipped config
ROUNDS = 100


SHIPPED = "token-endpoint-etcd.yaml"


def fleet_envoy(factory, shell: str, wasm, upstream_port: int, etcd_ports: list[int], name: str):
    """envoy/token-endpoint-etcd.yaml as shipped, its etcd members moved to `etcd_ports`."""
    ports = {"upstream": upstream_port, **{f"etcd{i}": p for i, p in enumerate(etcd_ports)}}
    return factory(harness.render_shipped(SHIPPED, ports=ports, wasm=wasm, shell=shell), name=name)


def post_token(envoy, body: str) -> harness.Response:
    return envoy.post(TOKEN_PATH, headers=FORM, body=body, timeout=15)


@pytest.fixture(scope="module")
def fleet(tmp_path_factory, filter_wasm, native_module, module_envoy_factory, module_upstream):
    """(etcd cluster, key prefix, [proxy-wasm Envoy, native Envoy])."""
    cluster = EtcdCluster(tmp_path_factory.mktemp("etcd"), size=3).start()
    try:
        envoys = [
            fleet_envoy(
                module_envoy_factory, shell, filter_wasm, module_upstream.port, cluster.client_ports, f"fleet-{shell}"
            )
            for shell in ("proxy-wasm", "native")
        ]
        yield cluster, PREFIX, envoys
    finally:
        cluster.stop()


def race(envoys, body: str) -> list:
    """The same token request sent to every Envoy at once; the responses (or exceptions)."""
    barrier = threading.Barrier(len(envoys))
    results: list = [None] * len(envoys)

    def fire(i: int) -> None:
        barrier.wait(timeout=10)
        try:
            results[i] = post_token(envoys[i], body)
        except Exception as e:  # noqa: BLE001 - reported by the caller
            results[i] = e

    threads = [threading.Thread(target=fire, args=(i,)) for i in range(len(envoys))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results


def verdict(r) -> str:
    """What one answer says: `token`, `invalid_client` (401: a replay), `unavailable` (503
    temporarily_unavailable with Retry-After), or a description of anything else."""
    if not isinstance(r, harness.Response):
        return f"exception {r!r}"
    if r.status == 200 and r.json().get("access_token"):
        return "token"
    if r.status == 401 and r.json().get("error") == "invalid_client":
        return "invalid_client"
    if (
        r.status == 503
        and r.json().get("error") == "temporarily_unavailable"
        and r.headers.get("retry-after") == "1"
        and r.headers.get("cache-control") == "no-store"
    ):
        return "unavailable"
    return f"{r.status} {r.headers} {r.body[:200]!r}"


def rounds(envoys, n: int, during=None) -> list[collections.Counter]:
    """`n` rounds of one fresh assertion raced at every Envoy; `during(i)` runs before round i."""
    out = []
    for i in range(n):
        if during:
            during(i)
        body = tokens.assertion_form(tokens.client_assertion())
        out.append(collections.Counter(verdict(r) for r in race(envoys, body)))
    return out


def leases(cluster: EtcdCluster) -> int:
    import json

    with cluster.open(0, "/v3/lease/leases", b"{}") as r:
        return len(json.loads(r.read()).get("leases", []))


def test_one_assertion_at_both_envoys_at_once_is_accepted_exactly_once(fleet):
    cluster, prefix, envoys = fleet
    before = [e.counters() for e in envoys]
    results = rounds(envoys, ROUNDS)
    wrong = [(i, c) for i, c in enumerate(results) if c != {"token": 1, "invalid_client": 1}]
    print(f"\nfleet: {ROUNDS} rounds, {ROUNDS - len(wrong)} with exactly one token and one replay refusal")
    assert not wrong, wrong[:5]
    # Both shells took part: each issued some of the tokens and refused some replays.
    deltas = [e.counters_delta(b) for e, b in zip(envoys, before)]
    issued = [d.get("gatepass.token.issued", 0) for d in deltas]
    refused = [d.get("gatepass.token.client_auth_failed", 0) for d in deltas]
    assert sum(issued) == ROUNDS and sum(refused) == ROUNDS, deltas
    assert all(n > 0 for n in issued) and all(n > 0 for n in refused), deltas
    # The keys are etcd's, not each Envoy's own: one per round, under the configured prefix,
    # kept with a few leases (one per worker and expiry bucket), not one per key.
    assert len(cluster.keys(prefix)) == ROUNDS
    assert leases(cluster) <= 6


def test_the_leader_stopped_during_a_run_costs_no_wrong_answer(fleet):
    """The member stopped is the Raft leader: the others elect a new one while requests go on."""
    cluster, _, envoys = fleet
    leader = cluster.leader()
    try:
        results = rounds(envoys, 60, during=lambda i: cluster.stop_member(leader) if i == 20 else None)
    finally:
        cluster.start_member(leader)
        cluster.wait_healthy(range(3))
    print(
        f"\nfleet, the leader (m{leader}) stopped before round 20 of 60: rounds by answers",
        dict(collections.Counter(tuple(sorted(c.items())) for c in results)),
    )
    # Never two tokens for one assertion; every answer is a token, a replay refusal or a
    # clear 503; and tokens keep being issued after the member went away.
    assert all(c["token"] <= 1 for c in results), results
    odd = [c for c in results if set(c) - {"token", "invalid_client", "unavailable"}]
    assert not odd, odd[:3]
    after_stop = results[20:]
    issued_after = sum(c["token"] for c in after_stop)
    assert issued_after >= len(after_stop) - 2, after_stop


def test_lost_quorum_fails_closed_enforcement_continues_and_service_resumes(fleet):
    cluster, _, envoys = fleet
    # A token minted while the store works, to check enforcement during the outage.
    body = tokens.assertion_form(tokens.client_assertion())
    minted = post_token(envoys[0], body)
    assert verdict(minted) == "token", minted
    access = minted.json()["access_token"]
    before = [e.counters() for e in envoys]
    try:
        cluster.stop_member(0)
        cluster.stop_member(1)
        deadline = time.monotonic() + 10
        while cluster.health(2) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not cluster.health(2), "the last member still reports a leader"
        for envoy in envoys:
            for _ in range(3):
                started = time.monotonic()
                r = post_token(envoy, tokens.assertion_form(tokens.client_assertion()))
                took = time.monotonic() - started
                assert verdict(r) == "unavailable", (envoy.name, verdict(r))
                # At most four calls of the configured timeout each (core's MAX_CALLS).
                assert took < 4 * ETCD_TIMEOUT_MS / 1000 + 1.5, took
            # Enforcement does not touch etcd.
            ok = envoy.get("/orders/1", headers={"authorization": f"Bearer {access}"})
            assert ok.status == 200, ok
            assert envoy.get("/orders/1").status == 401
        for envoy, b in zip(envoys, before):
            delta = envoy.counters_delta(b)
            assert delta.get("gatepass.token.store_unavailable") == 3, delta
            assert "gatepass.token.issued" not in delta, delta
    finally:
        cluster.start_member(0)
        cluster.start_member(1)
    cluster.wait_healthy(range(3))
    # Service resumes: each Envoy issues tokens again within seconds, and once per assertion.
    for envoy in envoys:
        deadline = time.monotonic() + 20
        while True:
            v = verdict(post_token(envoy, tokens.assertion_form(tokens.client_assertion())))
            if v == "token" or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert v == "token", (envoy.name, v)
    results = rounds(envoys, 10)
    assert all(c == {"token": 1, "invalid_client": 1} for c in results), results


def etcd_token_config(timeout: str) -> dict:
    """A token endpoint with the replay store in etcd (cluster `etcd`), as plugin JSON."""
    return harness.plugin_config(
        {"main": harness.provider(jwks=tokens.DEMO_PUBLIC_JWKS)},
        token_endpoint={
            "issuer": harness.ISSUER,
            "signing_keys": [tokens.DEMO_PRIVATE_JWK],
            "default_audiences": [harness.AUDIENCE],
            "clients": [
                {
                    "client_id": "worker",
                    "token_endpoint_auth_method": "private_key_jwt",
                    "jwks": tokens.WORKER_PUBLIC_JWKS,
                }
            ],
            "replay_store": {"etcd": {"cluster": "etcd", "timeout": timeout}},
        },
    )


def test_an_etcd_cluster_with_no_endpoint_fails_closed_and_envoy_keeps_serving(shell, envoy_factory, upstream):
    """Envoy's HTTP client answers a call to a cluster with no host at once ("no healthy
    upstream"), inside the call that starts it: the shells count it as no answer."""
    b = shell.bootstrap(etcd_token_config("200ms"), upstream_port=upstream.port)
    b["static_resources"]["clusters"].append(
        {"name": "etcd", "type": "STATIC", "connect_timeout": "0.25s", "load_assignment": {"cluster_name": "etcd"}}
    )
    envoy = envoy_factory(b)
    for _ in range(3):
        r = post_token(envoy, tokens.assertion_form(tokens.client_assertion()))
        assert verdict(r) == "unavailable", verdict(r)
    assert envoy.get("/orders/1").status == 401
    assert envoy.counters().get("gatepass.token.store_unavailable") == 3


def test_etcd_with_client_certificates_takes_the_envoy_holding_one(shell, envoy_factory, upstream, tmp_path):
    """etcd's authentication as the README documents it: client URLs over TLS with
    `--client-cert-auth`, and the Envoy cluster's `transport_socket` presenting a certificate of
    the CA etcd trusts. An Envoy whose cluster presents none gets no answer from etcd: 503."""
    tls = ClientTls(tmp_path / "tls")
    cluster = EtcdCluster(tmp_path / "etcd", size=1, tls=tls).start()
    try:

        def tls_cluster(with_client_cert: bool) -> dict:
            context = {"validation_context": {"trusted_ca": {"filename": str(tls.ca)}}}
            if with_client_cert:
                context["tls_certificates"] = [
                    {
                        "certificate_chain": {"filename": str(tls.client_cert)},
                        "private_key": {"filename": str(tls.client_key)},
                    }
                ]
            c = harness.static_cluster("etcd", cluster.client_ports[0], connect_timeout="0.25s")
            c["transport_socket"] = {
                "name": "envoy.transport_sockets.tls",
                "typed_config": {
                    "@type": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext",
                    "common_tls_context": context,
                },
            }
            return c

        for with_cert, expected in ((True, ["token", "invalid_client"]), (False, ["unavailable", "unavailable"])):
            b = shell.bootstrap(etcd_token_config("500ms"), upstream_port=upstream.port)
            b["static_resources"]["clusters"].append(tls_cluster(with_cert))
            envoy = envoy_factory(b, name=f"etcd-tls-{'cert' if with_cert else 'nocert'}")
            body = tokens.assertion_form(tokens.client_assertion())
            got = [verdict(post_token(envoy, body)) for _ in range(2)]
            assert got == expected, (with_cert, got)
            envoy.stop()
        # The replay key is in etcd (read back over TLS with the client certificate).
        assert len(cluster.keys("gatepass/replay/")) == 1
    finally:
        cluster.stop()


def test_answers_that_come_after_their_client_left_find_no_request_and_envoy_serves_on(shell, envoy_factory, upstream):
    """Clients that give up while their token requests wait for etcd (here a socket that
    accepts and never answers). proxy-wasm: Envoy 1.40 does not cancel the calls, which end in
    their timeout after the requests are gone, and the filter drops those answers; native: Envoy
    cancels a stream's callouts with it. Either way the next request is answered as usual."""
    import socket

    hole = socket.socket()
    hole.bind(("127.0.0.1", 0))
    hole.listen(64)
    held = []
    stop = threading.Event()

    def accept() -> None:
        hole.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(hole.accept()[0])
            except OSError:
                pass

    threading.Thread(target=accept, daemon=True).start()
    try:
        b = shell.bootstrap(etcd_token_config("300ms"), upstream_port=upstream.port)
        b["static_resources"]["clusters"].append(
            harness.static_cluster("etcd", hole.getsockname()[1], connect_timeout="0.25s")
        )
        envoy = envoy_factory(b)
        body = tokens.assertion_form(tokens.client_assertion())
        for _ in range(3):
            with pytest.raises(OSError):  # the client gives up before Envoy answers
                harness.http_request(envoy.port, "POST", "/oauth/token", headers=FORM, body=body, timeout=0.1)
        time.sleep(4 * 0.3 + 1)
        stats = envoy.stats(filter=r"^cluster\.etcd\.upstream_rq_(timeout|total)$")
        assert stats.get("cluster.etcd.upstream_rq_total", 0) >= 3, stats
        if shell.name == "proxy-wasm":
            # The calls run to their timeout, so the SDK's record of each goes with its answer.
            assert stats.get("cluster.etcd.upstream_rq_timeout") == stats["cluster.etcd.upstream_rq_total"], stats
        else:
            # The native module's callouts end with their stream: Envoy cancels them.
            assert stats.get("cluster.etcd.upstream_rq_timeout") == 0, stats
        assert envoy.running
        assert verdict(post_token(envoy, tokens.assertion_form(tokens.client_assertion()))) == "unavailable"
        assert envoy.get("/orders/1").status == 401
    finally:
        stop.set()
        for c in held:
            c.close()
        hole.close()
