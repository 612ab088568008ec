.PHONY: demo test setup bench

# The main job: the whole client-credentials flow on the embedded default config.
demo:
	cargo run -q -p gatepass-core --example demo

# Every test (what CI runs through .ci/run).
test:
	bash scripts/test.sh

setup:
	bash scripts/setup.sh

# Core benchmarks with ratios to the bare signature primitives (not a test).
bench:
	bash scripts/bench.sh
