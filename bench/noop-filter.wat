;; A proxy-wasm HTTP filter that does nothing: the baseline of the Envoy bench's `noop_wasm`
;; contender, so that "RSS over a do-nothing wasm filter" and "req/s against a do-nothing wasm
;; filter" measure only what the gatepass filter adds to Envoy's V8 runtime (one VM per worker
;; plus the main thread's). envoy_bench.py assembles it with binaryen's wasm-as (installed by
;; scripts/setup.sh, filter/package.json).
;;
;; The exports are the proxy-wasm ABI 0.2.1 entry points Envoy calls for an HTTP filter; every
;; callback answers "continue" (0) or "ok" (1) and calls no host function. The ABI's allocator
;; is a bump allocator; the host calls it only to hand over bytes the module asked for, which
;; this one never does.
(module
  (memory (export "memory") 2)
  (global $next (mut i32) (i32.const 1024))

  (func (export "proxy_on_memory_allocate") (param $size i32) (result i32)
    (local $at i32)
    (local.set $at (global.get $next))
    (global.set $next
      (i32.add (local.get $at) (i32.and (i32.add (local.get $size) (i32.const 15)) (i32.const -16))))
    (local.get $at))

  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_vm_start") (param i32 i32) (result i32) (i32.const 1))
  (func (export "proxy_on_configure") (param i32 i32) (result i32) (i32.const 1))
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32) (i32.const 0))
  (func (export "proxy_on_request_body") (param i32 i32 i32) (result i32) (i32.const 0))
  (func (export "proxy_on_response_headers") (param i32 i32 i32) (result i32) (i32.const 0))
  (func (export "proxy_on_response_body") (param i32 i32 i32) (result i32) (i32.const 0))
  (func (export "proxy_on_log") (param i32))
  (func (export "proxy_on_done") (param i32) (result i32) (i32.const 1))
  (func (export "proxy_on_delete") (param i32))
)
