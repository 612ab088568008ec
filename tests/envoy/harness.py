"""Real-Envoy test harness: bootstrap builders, a running-Envoy handle, and the loopback
servers the tests put behind Envoy (an echo upstream and a JWKS issuer).

Standard library only. conftest.py turns these into fixtures; tests may also use them directly.

Bootstraps are Python dicts written as JSON (Envoy reads a JSON bootstrap with `-c file.json`),
so a test can vary the plugin configuration freely. Listener and admin ports are 0: Envoy picks
free ones and the harness reads them back (admin via --admin-address-path, listeners via
/listeners?format=json), so there is no port race.
"""

from __future__ import annotations

import base64
import http.client
import importlib.util
import itertools
import json
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[2]
ENVOY_BIN = Path(os.environ.get("ENVOY_BIN", ROOT / ".venv" / "bin" / "envoy"))
# The filter as scripts/build-filter.sh ships it (cargo's `filter` profile, then wasm-opt).
WASM_PATH = ROOT / "target" / "envoy" / "gatepass_filter.wasm"

ISSUER = "https://auth.gatepass.local"
AUDIENCE = "https://orders.gatepass.local"
JWKS_PATH = "/.well-known/jwks.json"

# RFC 8037 A.2: a well-formed Ed25519 public key, for configs that need a JWKS but no tokens.
RFC8037_PUBLIC_JWKS = {
    "keys": [
        {
            "kty": "OKP",
            "crv": "Ed25519",
            "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
            "kid": "rfc8037",
            "alg": "EdDSA",
            "use": "sig",
        }
    ]
}

# The rules of the shipped configs (envoy/*.yaml), without their final catch-all: every write
# method on the /orders tree needs orders:write, reads need orders:read, /health is open, the
# /public tree takes a token only when one is sent.
RESOURCE_RULES: list[dict[str, Any]] = [
    {
        "match": {"path_separated_prefix": "/orders", "methods": ["POST", "PUT", "PATCH", "DELETE"]},
        "requires": {"provider_name": "main", "scopes": ["orders:write"]},
    },
    {"match": {"path_separated_prefix": "/orders"}, "requires": {"provider_name": "main", "scopes": ["orders:read"]}},
    {"match": {"path": "/health"}},
    {"match": {"path_separated_prefix": "/public"}, "allow_missing": {"provider_name": "main"}},
]
# Every path no earlier rule matched needs a valid token.
CATCH_ALL_RULE: dict[str, Any] = {"match": {"prefix": "/"}, "requires": {"provider_name": "main"}}
# The rules of the shipped configs (envoy/*.yaml).
DEFAULT_RULES: list[dict[str, Any]] = [*RESOURCE_RULES, CATCH_ALL_RULE]


# ---------------------------------------------------------------------------------------------
# Plugin configuration (the filter's JSON)


def provider(
    *,
    jwks: Mapping[str, Any] | str | None = None,
    remote_jwks_uri: str | None = None,
    cluster: str = "issuer",
    timeout: str = "2s",
    cache_duration: str = "600s",
    **overrides: Any,
) -> dict[str, Any]:
    """A provider like the shipped configs': local keys (`jwks`) or remote (`remote_jwks_uri`).
    Keyword overrides replace or add fields (pass `field=None` to drop one)."""
    p: dict[str, Any] = {
        "issuer": ISSUER,
        "audiences": [AUDIENCE],
        "from_headers": [{"name": "authorization", "value_prefix": "Bearer "}],
        "forward": False,
        "forward_payload_header": "x-jwt-payload",
        "claim_to_headers": [
            {"header_name": "x-client-id", "claim_name": "client_id"},
            {"header_name": "x-scope", "claim_name": "scope"},
        ],
        "clock_skew_seconds": 60,
        "max_lifetime": "3600s",
        "require_typ": "at+jwt",
        "algorithms": ["EdDSA", "ES256"],
    }
    if jwks is not None:
        text = jwks if isinstance(jwks, str) else json.dumps(jwks, separators=(",", ":"))
        p["local_jwks"] = {"inline_string": text}
    if remote_jwks_uri is not None:
        p["remote_jwks"] = {
            "http_uri": {"uri": remote_jwks_uri, "cluster": cluster, "timeout": timeout},
            "cache_duration": cache_duration,
        }
        p["jwks_kid_miss_cooldown"] = "30s"
    for key, value in overrides.items():
        if value is None:
            p.pop(key, None)
        else:
            p[key] = value
    return p


def plugin_config(
    providers: Mapping[str, Any] | None = None,
    rules: Sequence[Mapping[str, Any]] | None = None,
    *,
    realm: str | None = "gatepass",
    token_endpoint: Mapping[str, Any] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """The filter's configuration: `providers` (default: `main` with the RFC 8037 key),
    `rules` (default: DEFAULT_RULES), `realm`, optional `token_endpoint`."""
    cfg: dict[str, Any] = {
        "providers": dict(providers) if providers is not None else {"main": provider(jwks=RFC8037_PUBLIC_JWKS)},
        "rules": list(rules) if rules is not None else list(DEFAULT_RULES),
    }
    if realm is not None:
        cfg["realm"] = realm
    if token_endpoint is not None:
        cfg["token_endpoint"] = dict(token_endpoint)
    cfg.update(extra)
    return cfg


# ---------------------------------------------------------------------------------------------
# Bootstrap builders


def direct_response_route(prefix: str = "/", status: int = 200, body: str = "ok\n") -> dict[str, Any]:
    return {"match": {"prefix": prefix}, "direct_response": {"status": status, "body": {"inline_string": body}}}


def cluster_route(prefix: str, cluster: str) -> dict[str, Any]:
    return {"match": {"prefix": prefix}, "route": {"cluster": cluster}}


def static_cluster(name: str, port: int, host: str = "127.0.0.1", connect_timeout: str = "1s") -> dict[str, Any]:
    return {
        "name": name,
        "type": "STATIC",
        "connect_timeout": connect_timeout,
        "load_assignment": {
            "cluster_name": name,
            "endpoints": [{"lb_endpoints": [{"endpoint": {"address": _addr(host, port)}}]}],
        },
    }


def router_filter() -> dict[str, Any]:
    return {
        "name": "envoy.filters.http.router",
        "typed_config": {"@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"},
    }


def wasm_filter(
    wasm: Path | str,
    configuration: Mapping[str, Any] | str,
    *,
    name: str = "gatepass",
    root_id: str = "gatepass",
    vm_id: str = "gatepass",
    failure_policy: str = "FAIL_CLOSED",
) -> dict[str, Any]:
    """The gatepass HTTP filter. `configuration` (a dict, or JSON text as it is) becomes the
    plugin configuration (`config.configuration`, a google.protobuf.StringValue), which the
    filter reads in on_configure."""
    text = configuration if isinstance(configuration, str) else json.dumps(configuration)
    return {
        "name": name,
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm",
            "config": {
                "name": name,
                "root_id": root_id,
                "failure_policy": failure_policy,
                "vm_config": {
                    "vm_id": vm_id,
                    "runtime": "envoy.wasm.runtime.v8",
                    "code": {"local": {"filename": str(Path(wasm).resolve())}},
                },
                "configuration": {"@type": "type.googleapis.com/google.protobuf.StringValue", "value": text},
            },
        },
    }


def native_filter(configuration: Mapping[str, Any] | str, *, name: str = "gatepass") -> dict[str, Any]:
    """The gatepass HTTP filter as a native dynamic module (`libgatepass.so` from
    $ENVOY_DYNAMIC_MODULES_SEARCH_PATH, see the `native_module` fixture) with the same plugin
    configuration as the proxy-wasm filter, as a google.protobuf.StringValue. `name` is the
    filter name the module sees (`gatepass-test-panic` turns on its test-only panic path)."""
    text = configuration if isinstance(configuration, str) else json.dumps(configuration)
    return {
        "name": "envoy.filters.http.dynamic_modules",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.dynamic_modules.v3.DynamicModuleFilter",
            "dynamic_module_config": {"name": "gatepass"},
            "filter_name": name,
            "filter_config": {"@type": "type.googleapis.com/google.protobuf.StringValue", "value": text},
        },
    }


def bootstrap(
    *,
    routes: Sequence[Mapping[str, Any]] | None = None,
    http_filters: Sequence[Mapping[str, Any]] = (),
    clusters: Sequence[Mapping[str, Any]] = (),
    listener_port: int = 0,
    admin_port: int = 0,
) -> dict[str, Any]:
    """One listener `main` on 127.0.0.1 with an HTTP connection manager (path normalized, as in
    envoy/*.yaml), `http_filters` before the router, and an admin endpoint."""
    hcm = {
        "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
        "stat_prefix": "ingress",
        "codec_type": "AUTO",
        "normalize_path": True,
        "merge_slashes": True,
        "path_with_escaped_slashes_action": "REJECT_REQUEST",
        "route_config": {
            "name": "local",
            "virtual_hosts": [{"name": "all", "domains": ["*"], "routes": list(routes or [direct_response_route()])}],
        },
        "http_filters": [*http_filters, router_filter()],
    }
    return {
        "admin": {"address": _addr("127.0.0.1", admin_port)},
        "stats_config": {"stats_matcher": {"reject_all": False}},
        "static_resources": {
            "listeners": [
                {
                    "name": "main",
                    "address": _addr("127.0.0.1", listener_port),
                    "filter_chains": [
                        {
                            "filters": [
                                {"name": "envoy.filters.network.http_connection_manager", "typed_config": hcm}
                            ]
                        }
                    ],
                }
            ],
            "clusters": list(clusters),
        },
    }


MAX_BODY_BYTES = 64 * 1024  # gatepass_core::request::MAX_BODY_BYTES


def buffer_filter(max_request_bytes: int = MAX_BODY_BYTES) -> dict[str, Any]:
    return {
        "name": "envoy.filters.http.buffer",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.buffer.v3.Buffer",
            "max_request_bytes": max_request_bytes,
        },
    }


def _buffer_per_route(**fields: Any) -> dict[str, Any]:
    return {
        "envoy.filters.http.buffer": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.buffer.v3.BufferPerRoute",
            **fields,
        }
    }


def body_paths(configuration: Mapping[str, Any] | str) -> list[str]:
    """Paths where the filter answers from the request body (the token endpoint, introspection,
    and registration when on), from the plugin configuration's `token_endpoint`."""
    cfg = json.loads(configuration) if isinstance(configuration, str) else configuration
    te = cfg.get("token_endpoint") if isinstance(cfg, Mapping) else None
    if not isinstance(te, Mapping):
        return []
    base = urlsplit(str(te.get("issuer", ""))).path.rstrip("/")
    paths = [te.get("path") or f"{base}/oauth/token", te.get("introspection_path") or f"{base}/oauth/introspect"]
    if te.get("registration"):
        paths.append(te.get("registration_path") or f"{base}/oauth/register")
    return paths


def gatepass_bootstrap(
    wasm: Path | str | None,
    configuration: Mapping[str, Any] | str,
    *,
    upstream_port: int | None = None,
    issuer_port: int | None = None,
    routes: Sequence[Mapping[str, Any]] | None = None,
    buffered_paths: Sequence[str] | None = None,
) -> dict[str, Any]:
    """The shipped configs' shape: the filter, `/orders` and `/echo` to the `upstream` cluster
    (when `upstream_port` is given), everything else a local 200 `ok`; an `issuer` cluster when
    `issuer_port` is given (the remote JWKS source).

    `wasm`: the proxy-wasm filter's .wasm, or None for the native module (`native_filter`).

    `buffered_paths` (default for the proxy-wasm filter: the token endpoint's, see `body_paths`;
    none for the native module, which holds the request and reads the body itself) get a route
    of their own with Envoy's buffer filter on, behind gatepass, as in envoy/token-endpoint.yaml:
    it holds the headers back from the router until the body is complete, so the filter can
    answer from the body (proxy-wasm cannot pause headers and still receive the body)."""
    if wasm is None and buffered_paths is None:
        buffered_paths = []
    clusters = []
    default_routes = []
    if upstream_port is not None:
        clusters.append(static_cluster("upstream", upstream_port))
        default_routes += [cluster_route("/orders", "upstream"), cluster_route("/echo", "upstream")]
    if issuer_port is not None:
        clusters.append(static_cluster("issuer", issuer_port))
    default_routes.append(direct_response_route())
    buffered = list(body_paths(configuration) if buffered_paths is None else buffered_paths)
    body_routes = [
        {
            "match": {"path": path},
            "direct_response": {"status": 404},
            "typed_per_filter_config": _buffer_per_route(buffer={"max_request_bytes": MAX_BODY_BYTES}),
        }
        for path in buffered
    ]
    b = bootstrap(
        routes=[*body_routes, *(routes if routes is not None else default_routes)],
        http_filters=[
            wasm_filter(wasm, configuration) if wasm is not None else native_filter(configuration),
            *([buffer_filter()] if buffered else []),
        ],
        clusters=clusters,
    )
    if buffered:
        virtual_host(b)["typed_per_filter_config"] = _buffer_per_route(disabled=True)
    return b


def http_connection_manager_config(b: Mapping[str, Any]) -> dict[str, Any]:
    """The HttpConnectionManager of the `main` listener of a bootstrap from `bootstrap()`."""
    return b["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"]


def virtual_host(b: Mapping[str, Any]) -> dict[str, Any]:
    return http_connection_manager_config(b)["route_config"]["virtual_hosts"][0]


def _addr(host: str, port: int) -> dict[str, Any]:
    return {"socket_address": {"address": host, "port_value": int(port)}}


class ArtifactError(RuntimeError):
    """A build artifact the tests need is missing or did not build."""


def artifact(env_var: str, build_script: str) -> Path:
    """The file $ENV_VAR names, or what scripts/BUILD_SCRIPT builds (it prints the path)."""
    override = os.environ.get(env_var)
    if override:
        path = Path(override)
        if not path.is_file():
            raise ArtifactError(f"{env_var}={override} does not exist")
        return path
    build = subprocess.run(
        ["bash", str(ROOT / "scripts" / build_script)],
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
    )
    if build.returncode != 0:
        raise ArtifactError(f"scripts/{build_script} failed:\n{build.stderr[-6000:]}")
    path = Path(build.stdout.strip().splitlines()[-1]) if build.stdout.strip() else Path()
    if not path.is_file():
        raise ArtifactError(f"scripts/{build_script} succeeded but printed no file: {build.stdout[-500:]!r}")
    return path


def install_native(so: Path, directory: Path) -> Path:
    """Puts the native module into `directory` as libgatepass.so and points every Envoy this
    process starts there ($ENVOY_DYNAMIC_MODULES_SEARCH_PATH)."""
    directory.mkdir(parents=True, exist_ok=True)
    installed = directory / "libgatepass.so"
    shutil.copyfile(so, installed)
    os.environ["ENVOY_DYNAMIC_MODULES_SEARCH_PATH"] = str(directory)
    return installed


def _render_module() -> Any:
    """envoy/render.py, imported (it lives outside any package)."""
    spec = importlib.util.spec_from_file_location("gatepass_envoy_render", ROOT / "envoy" / "render.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def render_shipped(
    name: str,
    *,
    ports: Mapping[str, int] | None = None,
    keys: Path | str | None = None,
    values: Mapping[str, str] | None = None,
    wasm: Path | str | None = None,
    shell: str = "proxy-wasm",
) -> str:
    """envoy/NAME rendered by envoy/render.py (placeholders filled, ports moved; listener and
    admin default to 0 here so the harness picks them up); `shell` "native": its native twin."""
    module = _render_module()
    all_ports = {"listener": 0, "admin": 0, **(ports or {})}
    return module.render(
        (ROOT / "envoy" / name).read_text(),
        keys=keys or module.DEFAULT_KEYS,
        values=dict(values or {}),
        ports=all_ports,
        wasm=wasm,
        shell=shell,
    )


# ---------------------------------------------------------------------------------------------
# HTTP client


class Response:
    def __init__(self, status: int, reason: str, headers: list[tuple[str, str]], body: bytes):
        self.status = status
        self.reason = reason
        self.header_list = headers  # (lower-case name, value), in order, duplicates kept
        self.body = body

    @property
    def headers(self) -> dict[str, str]:
        """Lower-case name → value (the last one when repeated)."""
        return {k: v for k, v in self.header_list}

    def header(self, name: str, default: str | None = None) -> str | None:
        name = name.lower()
        for k, v in self.header_list:
            if k == name:
                return v
        return default

    def header_values(self, name: str) -> list[str]:
        name = name.lower()
        return [v for k, v in self.header_list if k == name]

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def json(self) -> Any:
        return json.loads(self.body)

    def __repr__(self) -> str:
        body = self.text if len(self.body) <= 300 else self.text[:300] + "..."
        return f"<Response {self.status} {dict(self.header_list)!r} {body!r}>"


Headers = Mapping[str, str] | Iterable[tuple[str, str]] | None


def http_request(
    port: int,
    method: str,
    path: str,
    *,
    headers: Headers = None,
    body: bytes | str | None = None,
    host: str = "127.0.0.1",
    timeout: float = 10.0,
) -> Response:
    """One request on a fresh connection. `headers` may be a dict or (name, value) pairs (to
    send a header twice). Host and Content-Length are added unless given."""
    pairs = list(headers.items()) if isinstance(headers, Mapping) else list(headers or [])
    if isinstance(body, str):
        body = body.encode()
    names = {k.lower() for k, _ in pairs}
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.putrequest(method, path, skip_host="host" in names, skip_accept_encoding=True)
        for k, v in pairs:
            conn.putheader(k, v)
        if body is not None and "content-length" not in names and "transfer-encoding" not in names:
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        r = conn.getresponse()
        data = r.read()
        return Response(r.status, r.reason, [(k.lower(), v) for k, v in r.getheaders()], data)
    finally:
        conn.close()


# ---------------------------------------------------------------------------------------------
# A running Envoy

_base_ids = itertools.count()


def next_base_id() -> int:
    """A --base-id no other Envoy of this machine's test runs uses at the same time: derived from
    the pid and a counter (hot restart uses base_id*10+epoch for its shared memory name)."""
    return 100_000 + (os.getpid() % 100_000) * 100 + next(_base_ids) % 100


class EnvoyStartError(RuntimeError):
    pass


class Envoy:
    """One Envoy process. Use `Envoy.start(...)` (or the envoy_factory fixture)."""

    def __init__(self, proc: subprocess.Popen, config_path: Path, log_path: Path, base_id: int, name: str):
        self.proc = proc
        self.config_path = config_path
        self.log_path = log_path
        self.base_id = base_id
        self.name = name
        self.admin_port = 0
        self.listeners: dict[str, int] = {}

    # -- lifecycle

    @classmethod
    def start(
        cls,
        config: Mapping[str, Any] | str,
        workdir: Path,
        *,
        name: str = "envoy",
        concurrency: int = 1,
        log_level: str = "info",
        component_log_level: str | None = None,
        extra_args: Sequence[str] = (),
        timeout: float = 30.0,
        envoy_bin: Path | str = ENVOY_BIN,
    ) -> "Envoy":
        """Writes the config (dict → JSON, text → YAML as given), starts Envoy and waits until
        the admin /ready says LIVE and every listener accepts connections."""
        workdir.mkdir(parents=True, exist_ok=True)
        suffix = ".json" if not isinstance(config, str) else ".yaml"
        config_path = workdir / f"{name}{suffix}"
        config_path.write_text(json.dumps(config, indent=1) if not isinstance(config, str) else config)
        log_path = workdir / f"{name}.log"
        admin_path = workdir / f"{name}.admin"
        admin_path.unlink(missing_ok=True)
        base_id = next_base_id()
        args = [
            str(envoy_bin),
            "-c", str(config_path),
            "--base-id", str(base_id),
            "--concurrency", str(concurrency),
            "--admin-address-path", str(admin_path),
            "-l", log_level,
            *(["--component-log-level", component_log_level] if component_log_level else []),
            *extra_args,
        ]  # fmt: skip
        log = open(log_path, "wb")
        try:
            proc = subprocess.Popen(
                args, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        finally:
            log.close()
        envoy = cls(proc, config_path, log_path, base_id, name)
        try:
            envoy._wait_ready(admin_path, timeout)
        except BaseException:
            envoy.stop()
            raise
        return envoy

    def _wait_ready(self, admin_path: Path, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        stage = "admin address"
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise EnvoyStartError(
                    f"{self.name} exited with {self.proc.returncode} during startup ({stage})\n{self.log_tail()}"
                )
            try:
                if not self.admin_port:
                    text = admin_path.read_text().strip() if admin_path.exists() else ""
                    if not text:
                        raise OSError("no admin address yet")
                    self.admin_port = int(text.rsplit(":", 1)[1])
                    stage = "/ready"
                if not self.listeners:
                    if self.admin("/ready").strip() != "LIVE":
                        raise OSError("not LIVE yet")
                    stage = "listeners"
                    statuses = json.loads(self.admin("/listeners?format=json"))["listener_statuses"]
                    self.listeners = {
                        s["name"]: s["local_address"]["socket_address"]["port_value"] for s in statuses
                    }
                for port in self.listeners.values():
                    with socket.create_connection(("127.0.0.1", port), timeout=1):
                        pass
                return
            except (OSError, ValueError, KeyError, http.client.HTTPException):
                time.sleep(0.05)
        raise EnvoyStartError(f"{self.name} not ready after {timeout}s (waiting for {stage})\n{self.log_tail()}")

    def stop(self, timeout: float = 10.0) -> int | None:
        """SIGTERM, then SIGKILL after `timeout`; removes the hot-restart shared memory file."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        # Envoy leaves /dev/shm/envoy_shared_memory_<base_id*10> behind even on a clean exit.
        try:
            os.unlink(f"/dev/shm/envoy_shared_memory_{self.base_id * 10}")
        except OSError:
            pass
        return self.proc.returncode

    @property
    def running(self) -> bool:
        return self.proc.poll() is None

    # -- traffic

    @property
    def port(self) -> int:
        """The `main` listener's port (or the only listener's)."""
        if "main" in self.listeners:
            return self.listeners["main"]
        return next(iter(self.listeners.values()))

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def request(self, method: str, path: str, **kw: Any) -> Response:
        return http_request(self.port, method, path, **kw)

    def get(self, path: str, **kw: Any) -> Response:
        return self.request("GET", path, **kw)

    def post(self, path: str, **kw: Any) -> Response:
        return self.request("POST", path, **kw)

    # -- admin and stats

    def admin(self, path: str, method: str = "GET") -> str:
        r = http_request(self.admin_port, method, path, timeout=5)
        return r.text

    def stats(self, filter: str = "gatepass") -> dict[str, int | str]:
        """`/stats?filter=REGEX` as name → value (ints where they are ints). The filter's
        proxy-wasm metrics are named `wasmcustom.<name>`; see `metric`."""
        out: dict[str, int | str] = {}
        for line in self.admin(f"/stats?filter={filter}").splitlines():
            name, sep, value = line.partition(": ")
            if not sep:
                continue
            value = value.strip()
            out[name] = int(value) if value.lstrip("-").isdigit() else value
        return out

    def metric(self, name: str, default: int = 0) -> int:
        """A proxy-wasm metric by the name the filter defined (Envoy shows it as
        `wasmcustom.<name>`, Prometheus as `<name>` with dots as underscores)."""
        for key in (f"wasmcustom.{name}", name):
            value = self.stats(filter=f"^{_regex_escape(key)}$").get(key)
            if isinstance(value, int):
                return value
        return default

    def counters(self) -> dict[str, int]:
        """Every gatepass counter, by the name the filter defined, without the prefix Envoy
        gives it (`wasmcustom.` for the proxy-wasm filter, `dynamicmodulescustom.` for the
        native module): `gatepass.allowed`, `gatepass.denied.invalid_token`, ..."""
        out: dict[str, int] = {}
        for name, value in self.stats(filter="^(wasmcustom|dynamicmodulescustom)\\.gatepass\\.").items():
            if isinstance(value, int):
                out[name.split(".", 1)[1]] = value
        return out

    def counters_delta(self, before: Mapping[str, int]) -> dict[str, int]:
        """The counters that changed since `before` (a `counters()` result), as differences."""
        after = self.counters()
        names = set(before) | set(after)
        return {n: after.get(n, 0) - before.get(n, 0) for n in sorted(names) if after.get(n, 0) != before.get(n, 0)}

    # -- logs

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def log_tail(self, lines: int = 60) -> str:
        tail = self.log_text().splitlines()[-lines:]
        return f"--- {self.log_path} (last {len(tail)} lines) ---\n" + "\n".join(tail)

    def wait_for_log(self, needle: str, timeout: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if needle in self.log_text():
                return True
            time.sleep(0.05)
        return False


def _regex_escape(s: str) -> str:
    return "".join("\\" + c if c in ".^$*+?()[]{}|\\" else c for c in s)


def validate(
    config: Mapping[str, Any] | str, workdir: Path, *, name: str = "validate", envoy_bin: Path | str = ENVOY_BIN
) -> tuple[int, str]:
    """`envoy --mode validate -c CONFIG`: (exit code, combined output). Loads the wasm and runs
    on_configure, so a refused plugin config fails here (exit code 1)."""
    workdir.mkdir(parents=True, exist_ok=True)
    suffix = ".json" if not isinstance(config, str) else ".yaml"
    path = workdir / f"{name}{suffix}"
    path.write_text(json.dumps(config, indent=1) if not isinstance(config, str) else config)
    p = subprocess.run(
        [str(envoy_bin), "--mode", "validate", "-c", str(path), "-l", "info"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        timeout=120,
    )
    return p.returncode, p.stdout.decode(errors="replace")


# ---------------------------------------------------------------------------------------------
# Loopback servers


class _Server:
    """A ThreadingHTTPServer on 127.0.0.1 in a daemon thread; `down()` closes the listening
    socket (connections are refused) and every open connection (Envoy pools keep-alive
    connections to a cluster: without this a "down" server would still answer on them), `up()`
    listens again on the same port."""

    handler: type[BaseHTTPRequestHandler]

    def __init__(self, port: int = 0):
        self.port = port
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.lock = threading.Lock()
        self.connections: set[socket.socket] = set()

    def up(self) -> "_Server":
        if self._httpd is not None:
            return self
        server = self

        class Httpd(ThreadingHTTPServer):
            daemon_threads = True
            allow_reuse_address = True
            # Envoy opens many upstream connections at once (parallel tests, resumed waiters):
            # the default backlog of 5 drops SYNs, and a 1 s connect_timeout turns that into 503.
            request_queue_size = 128

            def handle_error(self, request: Any, client_address: Any) -> None:
                # A peer that went away (Envoy timing out a slow fetch, a connection closed by
                # down()) is part of the tests, not an error worth a traceback.
                import sys

                if isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
                    return
                super().handle_error(request, client_address)

        class Handler(self.handler):  # type: ignore[misc, valid-type]
            owner = server

        self._httpd = Httpd(("127.0.0.1", self.port), Handler)
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    start = up

    def down(self) -> None:
        if self._httpd is None:
            return
        self._httpd.shutdown()
        self._httpd.server_close()
        self._httpd = None
        with self.lock:
            open_connections, self.connections = list(self.connections), set()
        for conn in open_connections:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    stop = down

    @property
    def is_up(self) -> bool:
        return self._httpd is not None


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    owner: Any = None

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def setup(self) -> None:
        super().setup()
        with self.owner.lock:
            self.owner.connections.add(self.connection)

    def finish(self) -> None:
        with self.owner.lock:
            self.owner.connections.discard(self.connection)
        super().finish()

    def _read_body(self) -> bytes:
        if self.headers.get("transfer-encoding", "").lower() == "chunked":
            data = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return data
                data += self.rfile.read(size)
                self.rfile.readline()
        length = int(self.headers.get("content-length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(self, status: int, body: bytes, content_type: str = "application/json", extra=()) -> None:
        self.send_response(status)
        self.send_header("content-type", content_type)
        self.send_header("content-length", str(len(body)))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_GET(self) -> None:
        self.handle_request()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = do_GET

    def handle_request(self) -> None:
        raise NotImplementedError


class _EchoHandler(_Handler):
    def handle_request(self) -> None:
        body = self._read_body()
        seen = {
            "method": self.command,
            "path": self.path,
            "headers": {k.lower(): v for k, v in self.headers.items()},
            "header_list": [[k.lower(), v] for k, v in self.headers.items()],
            "body": body.decode("utf-8", "replace"),
        }
        with self.owner.lock:
            self.owner.requests.append(seen)
        self._send(200, json.dumps(seen).encode())


class UpstreamServer(_Server):
    """Answers every request 200 with JSON {method, path, headers (lower-case name → value),
    header_list, body}; `requests` records the same for each request."""

    handler = _EchoHandler

    def __init__(self, port: int = 0):
        super().__init__(port)
        self.requests: list[dict[str, Any]] = []


class _IssuerHandler(_Handler):
    def handle_request(self) -> None:
        issuer: IssuerServer = self.owner
        self._read_body()
        path = self.path.split("?", 1)[0]
        with issuer.lock:
            issuer.requests.append((time.monotonic(), self.command, self.path))
            mode, document, delay = issuer.mode, issuer.jwks, issuer.slow_seconds
        if path != issuer.jwks_path:
            self._send(404, b'{"error":"not_found"}')
            return
        if mode == "close":
            # Accept, read the request, answer nothing, close.
            self.close_connection = True
            return
        if mode == "slow":
            time.sleep(delay)
            mode = "ok"
        if mode == "500":
            self._send(500, b'{"error":"server_error"}')
        elif mode == "invalid_json":
            self._send(200, b'{"keys": [ {"kty": "OKP", ')
        elif mode == "ok":
            body = document if isinstance(document, (bytes, str)) else json.dumps(document)
            self._send(200, body.encode() if isinstance(body, str) else body, extra=[("cache-control", "max-age=60")])
        else:
            self._send(500, f'{{"error":"unknown issuer mode {mode}"}}'.encode())


class IssuerServer(_Server):
    """Serves `jwks` (a dict, or str/bytes sent verbatim) at /.well-known/jwks.json.

    Switches: `mode` = "ok" | "500" | "slow" (sleeps `slow_seconds`, then answers) |
    "invalid_json" | "close" (reads the request, closes without answering); `down()` stops
    listening (connection refused), `up()` listens again on the same port.
    `requests` records (monotonic time, method, path); `jwks_requests` counts JWKS fetches.
    """

    handler = _IssuerHandler
    jwks_path = JWKS_PATH

    def __init__(self, jwks: Mapping[str, Any] | str | bytes | None = None, port: int = 0):
        super().__init__(port)
        self.jwks: Any = jwks if jwks is not None else {"keys": []}
        self.mode = "ok"
        self.slow_seconds = 5.0
        self.requests: list[tuple[float, str, str]] = []

    @property
    def jwks_uri(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.jwks_path}"

    @property
    def jwks_requests(self) -> int:
        with self.lock:
            return sum(1 for _, _, p in self.requests if p.split("?", 1)[0] == self.jwks_path)

    def set_jwks(self, jwks: Mapping[str, Any] | str | bytes) -> None:
        with self.lock:
            self.jwks = jwks

    def set_mode(self, mode: str) -> None:
        assert mode in ("ok", "500", "slow", "invalid_json", "close"), mode
        with self.lock:
            self.mode = mode

    def wait_for_requests(self, n: int, timeout: float = 10.0) -> bool:
        """Waits until at least `n` JWKS fetches arrived."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.jwks_requests >= n:
                return True
            time.sleep(0.02)
        return self.jwks_requests >= n


def free_port() -> int:
    """A loopback port free now (another process may take it before it is bound: retry)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def envoy_at_own_url(factory: Callable[..., Any], make_bootstrap: Callable[[str], dict[str, Any]], name: str) -> tuple[Any, str]:
    """An Envoy whose listener is on a port chosen first, so that its configuration can name
    its own URL (`http://127.0.0.1:PORT`, e.g. as a token endpoint's issuer): `make_bootstrap`
    gets that URL. Retried on a lost race for the port. Returns (envoy, url)."""
    for attempt in range(3):
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        b = make_bootstrap(url)
        b["static_resources"]["listeners"][0]["address"]["socket_address"]["port_value"] = port
        try:
            return factory(b, name=f"{name}{attempt}"), url
        except EnvoyStartError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def basic_auth(client_id: str, secret: str) -> dict[str, str]:
    """The `Authorization: Basic` header of a client id and secret (RFC 7617; neither holds a
    character RFC 6749 §2.3.1 would form-encode)."""
    return {"authorization": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()}

