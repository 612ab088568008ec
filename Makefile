.PHONY: demo demo-core test setup bench bench-worst-case

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

# Core benchmarks with ratios to the bare signature primitives (not a test).
bench:
	bash scripts/bench.sh

# Worst-case work per request before authentication: adversarial vs benign inputs of the same
# size, per parser, in the core, the npm server and Envoy (not a test; a few minutes).
bench-worst-case:
	bash bench/worst-case.sh
