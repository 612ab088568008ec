.PHONY: demo demo-core test setup filter bench bench-worst-case bench-filter-size

# The main job: gatepass in a real Envoy (token endpoint + enforcement), walked through.
demo:
	bash scripts/demo.sh

# The same flow through the core alone, in one process (no Envoy).
demo-core:
	cargo run -q -p gatepass-core --example demo

# Every test (what CI runs through .ci/run).
test:
	bash scripts/test.sh

setup:
	bash scripts/setup.sh

# The Envoy filter as it ships: target/envoy/gatepass_filter.wasm (cargo's `filter` profile, then
# binaryen's wasm-opt).
filter:
	bash scripts/build-filter.sh

# Core benchmarks with ratios to the bare signature primitives (not a test).
bench:
	bash scripts/bench.sh

# Worst-case work per request before authentication: adversarial vs benign inputs of the same
# size, per parser, in the core, the npm server and Envoy (not a test; a few minutes).
bench-worst-case:
	bash bench/worst-case.sh

# The Envoy filter's size, RSS over a do-nothing wasm filter and req/s under each build setting
# (not a test; about 15 minutes): the README's table.
bench-filter-size:
	bash bench/filter-size.sh
