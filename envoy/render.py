#!/usr/bin/env python3
"""Render an envoy/*.yaml config: fill the demo-key placeholders and, optionally, move ports.

    python3 envoy/render.py envoy/token-endpoint.yaml -o /tmp/b.yaml
    python3 envoy/render.py envoy/enforce-remote-jwks.yaml --port listener=18000 --port issuer=18082
    python3 envoy/render.py CONFIG --keys DIR --wasm PATH --set NAME=VALUE
    python3 envoy/render.py envoy/token-endpoint.yaml --shell native -o /tmp/n.yaml

Placeholders (each config names the ones it uses in its header):

    __DEMO_JWKS__           DIR/public.jwks.json, minified and JSON-escaped: it sits inside a JSON
                            string (`local_jwks.inline_string`) inside the plugin's JSON text
    __DEMO_SIGNING_KEY__    DIR/private.jwk.json, minified: a JSON object (an element of
                            `token_endpoint.signing_keys`)
    __BILLING_SECRET_HASH__ `sha256:` + base64url(SHA-256(secret)) of the text in DIR/billing.secret
                            (the stored form README.md "Configuration" describes)
    __WORKER_JWKS__         DIR/worker.public.jwks.json, minified: a JSON object (the `jwks` of the
                            private_key_jwt client `worker`)

DIR is envoy/demo-keys unless --keys says otherwise. Only the placeholders a config contains are
looked up, so a config without the token endpoint needs only public.jwks.json. `--set NAME=VALUE`
fills `__NAME__` with VALUE verbatim (and wins over the files).

Ports are not placeholders, so a rendered config runs as it is on the documented defaults. The
defaults below are fixed values in the configs; `--port NAME=PORT` rewrites `port_value: DEFAULT`
and `127.0.0.1:DEFAULT` (the remote JWKS URI) wherever they occur.

The wasm path in the configs is relative to the repository root; it is made absolute (or set to
--wasm) so the rendered file works from any directory.

`--shell native` renders the same config for the native Envoy module instead of the proxy-wasm
filter: the filter entry becomes `envoy.filters.http.dynamic_modules` (module `gatepass`, found
in $ENVOY_DYNAMIC_MODULES_SEARCH_PATH; `bash scripts/build-native.sh` builds it) with the same
plugin JSON. Everything else stays (the token endpoint's buffer filter is then unneeded but
harmless: the module reads the body itself).

Standard library only: run it with any python3. Importable: `render(text, ...)` returns the text.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_KEYS = ROOT / "envoy" / "demo-keys"
WASM_IN_CONFIGS = "target/envoy/gatepass_filter.wasm"
DEFAULT_WASM = ROOT / WASM_IN_CONFIGS

# Fixed ports in envoy/*.yaml, by name.
DEFAULT_PORTS = {
    "listener": 10000,
    "admin": 9901,
    "upstream": 8081,
    "issuer": 8082,
    # The etcd members of envoy/token-endpoint-etcd.yaml (etcd's convention for a local cluster).
    "etcd0": 2379,
    "etcd1": 22379,
    "etcd2": 32379,
}

PLACEHOLDER = re.compile(r"__([A-Z][A-Z0-9_]*)__")


def _minified(path: Path) -> str:
    return json.dumps(json.loads(path.read_text()), separators=(",", ":"))


def secret_hash(secret: str) -> str:
    """The stored form of a client secret: `sha256:` + base64url (no padding) of its SHA-256."""
    digest = hashlib.sha256(secret.encode()).digest()
    return "sha256:" + base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _value(name: str, keys: Path) -> str:
    def need(file: str) -> Path:
        path = keys / file
        if not path.is_file():
            raise SystemExit(f"render.py: __{name}__ needs {path}, which does not exist")
        return path

    if name == "DEMO_JWKS":
        # The JWKS is a JSON string inside JSON: escape it, without the outer quotes.
        return json.dumps(_minified(need("public.jwks.json")))[1:-1]
    if name == "DEMO_SIGNING_KEY":
        return _minified(need("private.jwk.json"))
    if name == "BILLING_SECRET_HASH":
        return secret_hash(need("billing.secret").read_text().strip())
    if name == "WORKER_JWKS":
        return _minified(need("worker.public.jwks.json"))
    raise SystemExit(f"render.py: unknown placeholder __{name}__ (use --set {name}=VALUE)")


# The proxy-wasm filter's entry in envoy/*.yaml, up to its plugin JSON (`value: |`), and the
# native module's in its place. The JSON below is indented two columns less in the native entry.
WASM_ENTRY = re.compile(
    r'(?P<indent> *)"@type": type\.googleapis\.com/envoy\.extensions\.filters\.http\.wasm\.v3\.Wasm\n'
    r"(?:(?P=indent).*\n)*?"
    r"(?P=indent)  configuration:\n"
    r'(?P=indent)    "@type": type\.googleapis\.com/google\.protobuf\.StringValue\n'
    r"(?P=indent)    value: \|\n"
    r"(?P<json>(?:(?P=indent)      .*\n|\n)+)"
)


def native(text: str) -> str:
    """The config with the native module in place of the proxy-wasm filter (same plugin JSON)."""

    def entry(m: re.Match[str]) -> str:
        i = m.group("indent")
        body = "".join(line[2:] if line.strip() else line for line in m.group("json").splitlines(keepends=True))
        return (
            f'{i}"@type": type.googleapis.com/envoy.extensions.filters.http.dynamic_modules.v3.DynamicModuleFilter\n'
            f"{i}dynamic_module_config: {{ name: gatepass }}\n"
            f"{i}filter_name: gatepass\n"
            f"{i}filter_config:\n"
            f'{i}  "@type": type.googleapis.com/google.protobuf.StringValue\n'
            f"{i}  value: |\n"
            f"{body}"
        )

    out, n = WASM_ENTRY.subn(entry, text)
    if n != 1:
        raise SystemExit(f"render.py: --shell native: expected one proxy-wasm gatepass filter, found {n}")
    return out


def render(
    text: str,
    *,
    keys: Path | str = DEFAULT_KEYS,
    values: dict[str, str] | None = None,
    ports: dict[str, int] | None = None,
    wasm: Path | str | None = None,
    shell: str = "proxy-wasm",
) -> str:
    """Fill placeholders, move ports, make the wasm path absolute (`shell` "native": put the
    native module in place of the proxy-wasm filter). Fails on anything left over."""
    if shell not in ("proxy-wasm", "native"):
        raise SystemExit(f"render.py: unknown shell {shell!r} (proxy-wasm, native)")
    if shell == "native":
        text = native(text)
    keys = Path(keys)
    values = dict(values or {})
    for name in sorted(set(PLACEHOLDER.findall(text))):
        if name not in values:
            values[name] = _value(name, keys)
    text = PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), text)

    for name, port in (ports or {}).items():
        if name not in DEFAULT_PORTS:
            raise SystemExit(f"render.py: unknown port name {name!r} ({', '.join(DEFAULT_PORTS)})")
        old = DEFAULT_PORTS[name]
        text = re.sub(rf"(port_value:\s*){old}\b", rf"\g<1>{int(port)}", text)
        text = re.sub(rf"127\.0\.0\.1:{old}\b", f"127.0.0.1:{int(port)}", text)

    wasm_path = Path(wasm) if wasm else DEFAULT_WASM
    text = text.replace(WASM_IN_CONFIGS, str(wasm_path.resolve()))
    return text


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("config", type=Path)
    p.add_argument("-o", "--output", type=Path, help="write here (default: stdout)")
    p.add_argument("--keys", type=Path, default=Path(os.environ.get("GATEPASS_DEMO_KEYS", DEFAULT_KEYS)))
    p.add_argument("--wasm", type=Path, default=os.environ.get("GATEPASS_FILTER_WASM") or None)
    p.add_argument("--port", action="append", default=[], metavar="NAME=PORT")
    p.add_argument("--set", action="append", default=[], metavar="NAME=VALUE")
    p.add_argument("--shell", choices=["proxy-wasm", "native"], default="proxy-wasm")
    args = p.parse_args(argv)

    ports = {}
    for item in args.port:
        name, _, port = item.partition("=")
        ports[name] = int(port)
    values = {}
    for item in args.set:
        name, _, value = item.partition("=")
        values[name.strip("_")] = value

    out = render(args.config.read_text(), keys=args.keys, values=values, ports=ports, wasm=args.wasm, shell=args.shell)
    if args.output:
        args.output.write_text(out)
    else:
        sys.stdout.write(out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
