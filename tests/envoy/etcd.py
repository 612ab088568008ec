"""A real etcd cluster on loopback for the fleet tests (Debian's `etcd-server`, installed by
`scripts/install-deb.sh etcd=etcd-server`, which scripts/test.sh runs): each member on its own
client and peer ports and data directory under a work directory, started and stopped by PID.

    cluster = EtcdCluster(tmp_path, size=3).start()
    cluster.client_ports          # the v3 JSON gateway of each member
    cluster.stop_member(0); cluster.start_member(0)
    cluster.stop()

Run as a program (`bash scripts/etcd-cluster.sh`), it starts a cluster on the client ports
envoy/token-endpoint-etcd.yaml names (2379, 22379, 32379) and keeps it until interrupted.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

from harness import free_port

ETCD = shutil.which("etcd") or "/usr/bin/etcd"


class ClientTls:
    """A CA, a server certificate for 127.0.0.1 and a client certificate it signed, written
    under `directory` (PEM): what etcd's `--client-cert-auth` and an Envoy cluster's
    `transport_socket` need."""

    def __init__(self, directory: Path) -> None:
        import datetime

        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

        directory.mkdir(parents=True, exist_ok=True)
        now = datetime.datetime.now(datetime.timezone.utc)

        def name(cn: str) -> x509.Name:
            return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])

        def write(stem: str, cert, key) -> tuple[Path, Path]:
            cert_path, key_path = directory / f"{stem}.pem", directory / f"{stem}-key.pem"
            cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
            key_path.write_bytes(
                key.private_bytes(
                    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
                )
            )
            return cert_path, key_path

        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca = (
            x509.CertificateBuilder()
            .subject_name(name("gatepass test CA"))
            .issuer_name(name("gatepass test CA"))
            .public_key(ca_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(ca_key, hashes.SHA256())
        )
        self.ca, _ = write("ca", ca, ca_key)

        def leaf(cn: str, usages, san=None):
            key = ec.generate_private_key(ec.SECP256R1())
            b = (
                x509.CertificateBuilder()
                .subject_name(name(cn))
                .issuer_name(ca.subject)
                .public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(minutes=5))
                .not_valid_after(now + datetime.timedelta(days=1))
                .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
            )
            if san is not None:
                b = b.add_extension(x509.SubjectAlternativeName(san), critical=False)
            return b.sign(ca_key, hashes.SHA256()), key

        import ipaddress

        # Client use too: etcd's JSON gateway calls the member's own gRPC API with this
        # certificate, which `--client-cert-auth` checks like any client's.
        server, server_key = leaf(
            "127.0.0.1",
            [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH],
            [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))],
        )
        self.server_cert, self.server_key = write("server", server, server_key)
        client, client_key = leaf("gatepass-envoy", [ExtendedKeyUsageOID.CLIENT_AUTH])
        self.client_cert, self.client_key = write("client", client, client_key)

    def context(self):
        import ssl

        ctx = ssl.create_default_context(cafile=str(self.ca))
        ctx.load_cert_chain(str(self.client_cert), str(self.client_key))
        return ctx


class EtcdCluster:
    def __init__(
        self, workdir: Path, size: int = 3, client_ports: list[int] | None = None, tls: "ClientTls | None" = None
    ) -> None:
        """`tls`: serve the client URLs over TLS and require a client certificate signed by
        `tls.ca` (etcd `--client-cert-auth`); peers stay plain HTTP on loopback."""
        self.workdir = Path(workdir)
        self.size = size
        self.tls = tls
        self.client_ports = list(client_ports) if client_ports else [free_port() for _ in range(size)]
        self.peer_ports = [free_port() for _ in range(size)]
        self.procs: list[subprocess.Popen | None] = [None] * size
        self.logs: list[Path] = [self.workdir / f"etcd-m{i}.log" for i in range(size)]

    def _initial_cluster(self) -> str:
        return ",".join(f"m{i}=http://127.0.0.1:{p}" for i, p in enumerate(self.peer_ports))

    def _start(self, i: int, state: str) -> None:
        scheme = "https" if self.tls else "http"
        client = f"{scheme}://127.0.0.1:{self.client_ports[i]}"
        peer = f"http://127.0.0.1:{self.peer_ports[i]}"
        args = [
            ETCD,
            "--name", f"m{i}",
            "--data-dir", str(self.workdir / f"etcd-m{i}"),
            "--listen-client-urls", client,
            "--advertise-client-urls", client,
            "--listen-peer-urls", peer,
            "--initial-advertise-peer-urls", peer,
            "--initial-cluster", self._initial_cluster(),
            "--initial-cluster-state", state,
            "--initial-cluster-token", f"gatepass-{os.getpid()}-{self.peer_ports[0]}",
            "--logger", "zap",
            "--log-level", "warn",
        ]
        if self.tls:
            args += [
                "--client-cert-auth",
                "--trusted-ca-file", str(self.tls.ca),
                "--cert-file", str(self.tls.server_cert),
                "--key-file", str(self.tls.server_key),
            ]
        with self.logs[i].open("ab") as log:
            self.procs[i] = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

    def start(self, timeout: float = 30) -> "EtcdCluster":
        if not os.access(ETCD, os.X_OK):
            raise RuntimeError(f"{ETCD} missing: run `bash scripts/install-deb.sh etcd=etcd-server`")
        self.workdir.mkdir(parents=True, exist_ok=True)
        for i in range(self.size):
            self._start(i, "new")
        self.wait_healthy(range(self.size), timeout)
        return self

    def open(self, i: int, path: str, body: bytes | None = None, timeout: float = 3):
        """GET `path` of member `i` (POST with `body`), over TLS with the client certificate when
        the cluster has one."""
        scheme = "https" if self.tls else "http"
        req = urllib.request.Request(
            f"{scheme}://127.0.0.1:{self.client_ports[i]}{path}", data=body, method="POST" if body is not None else "GET"
        )
        return urllib.request.urlopen(req, timeout=timeout, context=self.tls.context() if self.tls else None)

    def health(self, i: int) -> bool:
        """The member's `/health`: true when it is up and the cluster has a leader (a quorum)."""
        try:
            with self.open(i, "/health", timeout=1) as r:
                return json.loads(r.read()).get("health") == "true"
        except (OSError, ValueError):
            return False

    def wait_healthy(self, members, timeout: float = 30) -> None:
        members = list(members)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all(self.health(i) for i in members):
                return
            time.sleep(0.2)
        tails = "\n".join(f"m{i}: {self.logs[i].read_text(errors='replace')[-1500:]}" for i in members)
        raise RuntimeError(f"etcd members {members} not healthy within {timeout} s\n{tails}")

    def leader(self) -> int:
        """The index of the member that leads now (asked of any member that answers)."""
        ids = {}
        leader = None
        for i in range(self.size):
            if self.procs[i] is None:
                continue
            try:
                with self.open(i, "/v3/maintenance/status", b"{}") as r:
                    status = json.loads(r.read())
            except (OSError, ValueError):
                continue
            ids[status["header"]["member_id"]] = i
            leader = status.get("leader") or leader
        if leader not in ids:
            raise RuntimeError(f"no leader among the running members: {ids}, leader {leader}")
        return ids[leader]

    def stop_member(self, i: int) -> None:
        proc = self.procs[i]
        if proc is None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        self.procs[i] = None

    def start_member(self, i: int) -> None:
        """Starts a stopped member again on its data directory."""
        if self.procs[i] is None:
            self._start(i, "existing")

    def stop(self) -> None:
        for i in range(self.size):
            self.stop_member(i)

    def keys(self, prefix: str) -> list[str]:
        """The keys under `prefix` (a linearizable read through any healthy member)."""
        import base64

        start = base64.b64encode(prefix.encode()).decode()
        end = base64.b64encode(prefix[:-1].encode() + bytes([prefix.encode()[-1] + 1])).decode()
        for i in range(self.size):
            if self.procs[i] is None:
                continue
            body = json.dumps({"key": start, "range_end": end, "keys_only": True}).encode()
            try:
                with self.open(i, "/v3/kv/range", body) as r:
                    kvs = json.loads(r.read()).get("kvs", [])
                return [base64.b64decode(kv["key"]).decode() for kv in kvs]
            except OSError:
                continue
        raise RuntimeError("no etcd member answered")


def main() -> None:
    import argparse
    import tempfile

    p = argparse.ArgumentParser(description="A local etcd cluster for envoy/token-endpoint-etcd.yaml")
    p.add_argument("--ports", default="2379,22379,32379", help="client ports, one per member")
    p.add_argument("--dir", type=Path, help="data directory (default: a new temporary one)")
    args = p.parse_args()
    ports = [int(x) for x in args.ports.split(",")]

    def interrupted(_signum, _frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupted)
    workdir = args.dir or Path(tempfile.mkdtemp(prefix="gatepass-etcd-"))
    cluster = EtcdCluster(workdir, size=len(ports), client_ports=ports).start()
    pids = [proc.pid for proc in cluster.procs if proc]
    print(f"etcd: {len(ports)} members, client URLs " + ", ".join(f"http://127.0.0.1:{p}" for p in ports))
    print(f"etcd: PIDs {pids}, data in {workdir}; Ctrl-C stops them", flush=True)
    try:
        while all(proc and proc.poll() is None for proc in cluster.procs):
            time.sleep(1)
        print("etcd: a member exited; stopping the others", flush=True)
    except KeyboardInterrupt:
        pass
    finally:
        cluster.stop()


if __name__ == "__main__":
    main()
