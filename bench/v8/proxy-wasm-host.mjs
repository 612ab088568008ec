// A minimal proxy-wasm host for Deno, to see what V8 compiles when Envoy loads the filter and
// when it answers requests (bench/v8_compile.py runs it; not a test and not a real host: just
// enough of the ABI for the filter to start, read its configuration and decide a GET).
//
//   deno run -A --v8-flags=--no-liftoff,--trace-wasm-compilation-times \
//     bench/v8/proxy-wasm-host.mjs FILTER.wasm CONFIG.json [TOKEN]
//
// Prints `--- load`, `--- request` between V8's trace lines, and each phase's outcome on stderr.
const [file, configFile, token] = Deno.args;
const config = new TextEncoder().encode(Deno.readTextFileSync(configFile));
let instance;
const bytes = () => new Uint8Array(instance.exports.memory.buffer);
const view = () => new DataView(instance.exports.memory.buffer);
const text = (ptr, len) => new TextDecoder().decode(bytes().slice(ptr, ptr + len));

// Hands bytes to the module the way Envoy does: in memory the module allocated.
function give(data, ptrPtr, sizePtr) {
  const ptr = instance.exports.proxy_on_memory_allocate(data.length);
  bytes().set(data, ptr);
  view().setUint32(ptrPtr, ptr, true);
  view().setUint32(sizePtr, data.length, true);
  return 0;
}

let headers = [];
// proxy-wasm's header map format: count, (key length, value length) pairs, NUL-ended strings.
function headerMap() {
  const enc = new TextEncoder();
  const pairs = headers.map(([k, v]) => [enc.encode(k), enc.encode(v)]);
  const size = 4 + pairs.reduce((n, [k, v]) => n + 8 + k.length + v.length + 2, 0);
  const out = new Uint8Array(size);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, pairs.length, true);
  let at = 4;
  for (const [k, v] of pairs) {
    dv.setUint32(at, k.length, true);
    dv.setUint32(at + 4, v.length, true);
    at += 8;
  }
  for (const [k, v] of pairs) {
    out.set(k, at);
    at += k.length + 1;
    out.set(v, at);
    at += v.length + 1;
  }
  return out;
}

const orZero = (fns) => new Proxy(fns, { get: (t, name) => t[name] ?? (() => 0) });
const env = orZero({
  proxy_log: (level, ptr, len) => {
    console.error(`log ${level}: ${text(ptr, len)}`);
    return 0;
  },
  proxy_get_buffer_bytes: (_type, _start, _max, ptrPtr, sizePtr) => give(config, ptrPtr, sizePtr),
  proxy_get_current_time_nanoseconds: (ptr) => {
    view().setBigUint64(ptr, BigInt(Date.now()) * 1000000n, true);
    return 0;
  },
  proxy_define_metric: (_type, _ptr, _len, idPtr) => {
    view().setUint32(idPtr, 1, true);
    return 0;
  },
  proxy_get_header_map_pairs: (_map, ptrPtr, sizePtr) => give(headerMap(), ptrPtr, sizePtr),
  proxy_get_property: () => 1, // not found
  proxy_send_local_response: (status) => {
    console.error(`local response ${status}`);
    return 0;
  },
});
const wasi = orZero({
  random_get: (ptr, len) => {
    crypto.getRandomValues(bytes().subarray(ptr, ptr + len));
    return 0;
  },
});

instance = new WebAssembly.Instance(new WebAssembly.Module(Deno.readFileSync(file)), {
  env,
  wasi_snapshot_preview1: wasi,
});
const abi = instance.exports;
console.log("--- load");
abi._initialize();
abi.proxy_on_context_create(1, 0);
abi.proxy_on_vm_start(1, 0);
console.error(`configure: ${abi.proxy_on_configure(1, config.length) ? "ok" : "refused"}`);
if (token !== undefined) {
  console.log("--- request");
  headers = [[":method", "GET"], [":path", "/"], [":authority", "bench"], [":scheme", "http"]];
  if (token) headers.push(["authorization", `Bearer ${token}`]);
  abi.proxy_on_context_create(2, 1);
  console.error(`request headers: ${abi.proxy_on_request_headers(2, headers.length, 1) ? "stop" : "continue"}`);
}
