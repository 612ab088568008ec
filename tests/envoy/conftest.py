"""Fixtures for the end-to-end tests against the real Envoy (tests/envoy/).

Run: `bash scripts/envoy.sh && .venv/bin/pytest tests/envoy -q`

- `filter_wasm`: the gatepass filter built once per session (`bash scripts/build-filter.sh`, as
  it ships: target/envoy/gatepass_filter.wasm), or $GATEPASS_FILTER_WASM;
  skips the test when filter/ does not exist yet.
- `shell`: each Envoy shell in turn (parametrized: `proxy-wasm`, `native`): `shell.bootstrap(
  config, **kw)` is `harness.gatepass_bootstrap` with that shell's filter (`Envoy.counters()`
  reads either shell's counters). `module_shell`: the same for module-scoped fixtures.
- `envoy_factory(config, concurrency=1, ...)`: a running Envoy (config: a bootstrap dict, written
  as JSON, or YAML/JSON text); stopped at teardown; its log tail is attached to a failing test's
  report.
- `module_envoy_factory(config, ...)`: the same, but the Envoy lives for the whole test module
  (for modules whose tests share one configuration: each test then uses fresh tokens and
  compares stats as deltas); stopped at the module's end, log tail attached to failing tests.
- `envoy_validate(config)`: `envoy --mode validate` → (exit code, output).
- `upstream`: echo server (200, JSON of method, path, headers it saw); `module_upstream`: one
  per test module.
- `issuer_server`: JWKS server with switches (mode, down/up) and a request count.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

import harness
from harness import ROOT, Envoy, IssuerServer, UpstreamServer

_ENVOYS = pytest.StashKey[list]()
_MODULE_ENVOYS = pytest.StashKey[list]()


@pytest.fixture(scope="session")
def envoy_bin() -> Path:
    if not os.access(harness.ENVOY_BIN, os.X_OK):
        pytest.fail(f"{harness.ENVOY_BIN} missing: run `bash scripts/envoy.sh` first", pytrace=False)
    return harness.ENVOY_BIN


@pytest.fixture(scope="session")
def filter_wasm() -> Path:
    """Path of the filter's .wasm ($GATEPASS_FILTER_WASM, or built once per session by
    scripts/build-filter.sh)."""
    if not os.environ.get("GATEPASS_FILTER_WASM") and not (ROOT / "filter" / "Cargo.toml").is_file():
        pytest.skip("filter/ does not exist yet")
    try:
        return harness.artifact("GATEPASS_FILTER_WASM", "build-filter.sh")
    except harness.ArtifactError as e:
        pytest.fail(str(e), pytrace=False)


@pytest.fixture(scope="session")
def native_module(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The native module ($GATEPASS_NATIVE_SO, or built once per session by
    scripts/build-native.sh), installed as `libgatepass.so` in a directory that
    $ENVOY_DYNAMIC_MODULES_SEARCH_PATH names for every Envoy this session starts."""
    try:
        built = harness.artifact("GATEPASS_NATIVE_SO", "build-native.sh")
    except harness.ArtifactError as e:
        pytest.fail(str(e), pytrace=False)
    return harness.install_native(built, tmp_path_factory.mktemp("native-module"))


class Shell:
    """One Envoy shell of gatepass: the proxy-wasm filter (`wasm` its .wasm) or the native module
    (`wasm` None; the `native_module` fixture has installed it)."""

    def __init__(self, name: str, wasm: Path | None) -> None:
        self.name = name
        self.wasm = wasm

    def bootstrap(self, configuration: Any, **kw: Any) -> dict[str, Any]:
        return harness.gatepass_bootstrap(self.wasm, configuration, **kw)

    def __repr__(self) -> str:
        return self.name


SHELLS = ["proxy-wasm", "native"]


def _shell(request: pytest.FixtureRequest) -> Shell:
    if request.param == "native":
        request.getfixturevalue("native_module")
        return Shell("native", None)
    return Shell("proxy-wasm", request.getfixturevalue("filter_wasm"))


@pytest.fixture(params=SHELLS)
def shell(request: pytest.FixtureRequest) -> Shell:
    """Each Envoy shell in turn: the test runs once with the proxy-wasm filter, once with the
    native module."""
    return _shell(request)


@pytest.fixture(scope="module", params=SHELLS)
def module_shell(request: pytest.FixtureRequest) -> Shell:
    """`shell` for module-scoped fixtures: the module's tests run with one shell, then the
    other."""
    return _shell(request)


@pytest.fixture
def envoy_factory(request: pytest.FixtureRequest, tmp_path: Path, envoy_bin: Path) -> Iterator[Callable[..., Envoy]]:
    """`envoy_factory(config, *, concurrency=1, name=None, log_level="info",
    component_log_level=None, extra_args=(), timeout=30)` → a running harness.Envoy."""
    started: list[Envoy] = []
    request.node.stash[_ENVOYS] = started

    def start(config: Any, *, concurrency: int = 1, name: str | None = None, **kw: Any) -> Envoy:
        envoy = Envoy.start(
            config,
            tmp_path,
            name=name or f"envoy{len(started) + 1}",
            concurrency=concurrency,
            envoy_bin=envoy_bin,
            **kw,
        )
        started.append(envoy)
        return envoy

    yield start
    for envoy in started:
        envoy.stop()


@pytest.fixture(scope="module")
def module_envoy_factory(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, envoy_bin: Path
) -> Iterator[Callable[..., Envoy]]:
    """`envoy_factory` for a whole test module (same arguments)."""
    started: list[Envoy] = []
    request.node.stash[_MODULE_ENVOYS] = started
    workdir = tmp_path_factory.mktemp(request.node.name.removesuffix(".py"))

    def start(config: Any, *, concurrency: int = 1, name: str | None = None, **kw: Any) -> Envoy:
        envoy = Envoy.start(
            config,
            workdir,
            name=name or f"envoy{len(started) + 1}",
            concurrency=concurrency,
            envoy_bin=envoy_bin,
            **kw,
        )
        started.append(envoy)
        return envoy

    yield start
    for envoy in started:
        envoy.stop()


@pytest.fixture
def envoy_validate(tmp_path: Path, envoy_bin: Path) -> Callable[..., tuple[int, str]]:
    """`envoy_validate(config)` → (exit code, output) of `envoy --mode validate`."""
    count = iter(range(1_000_000))

    def run(config: Any) -> tuple[int, str]:
        return harness.validate(config, tmp_path, name=f"validate{next(count)}", envoy_bin=envoy_bin)

    return run


@pytest.fixture
def upstream() -> Iterator[UpstreamServer]:
    server = UpstreamServer().up()
    yield server
    server.down()


@pytest.fixture(scope="module")
def module_upstream() -> Iterator[UpstreamServer]:
    server = UpstreamServer().up()
    yield server
    server.down()


@pytest.fixture
def issuer_server() -> Iterator[IssuerServer]:
    server = IssuerServer().up()
    yield server
    server.down()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if report.failed and report.when in ("setup", "call"):
        module = item.getparent(pytest.Module)
        module_envoys = module.stash.get(_MODULE_ENVOYS, []) if module is not None else []
        for envoy in [*item.stash.get(_ENVOYS, []), *module_envoys]:
            report.sections.append((f"Envoy {envoy.name} log", envoy.log_tail()))
