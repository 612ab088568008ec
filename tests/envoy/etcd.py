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
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

ETCD = shutil.which("etcd") or "/usr/bin/etcd"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class EtcdCluster:
    def __init__(self, workdir: Path, size: int = 3, client_ports: list[int] | None = None) -> None:
        self.workdir = Path(workdir)
        self.size = size
        self.client_ports = list(client_ports) if client_ports else [free_port() for _ in range(size)]
        self.peer_ports = [free_port() for _ in range(size)]
        self.procs: list[subprocess.Popen | None] = [None] * size
        self.logs: list[Path] = [self.workdir / f"etcd-m{i}.log" for i in range(size)]

    def _initial_cluster(self) -> str:
        return ",".join(f"m{i}=http://127.0.0.1:{p}" for i, p in enumerate(self.peer_ports))

    def _start(self, i: int, state: str) -> None:
        client = f"http://127.0.0.1:{self.client_ports[i]}"
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

    def health(self, i: int) -> bool:
        """The member's `/health`: true when it is up and the cluster has a leader (a quorum)."""
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.client_ports[i]}/health", timeout=1) as r:
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
            req = urllib.request.Request(
                f"http://127.0.0.1:{self.client_ports[i]}/v3/maintenance/status", data=b"{}", method="POST"
            )
            try:
                with urllib.request.urlopen(req, timeout=3) as r:
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
            req = urllib.request.Request(f"http://127.0.0.1:{self.client_ports[i]}/v3/kv/range", data=body, method="POST")
            try:
                with urllib.request.urlopen(req, timeout=3) as r:
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
