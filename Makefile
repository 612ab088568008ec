.PHONY: test setup

# The test command; CI runs the same thing through .ci/run.
test:
	bash scripts/test.sh

# Install test prerequisites only (rustup targets/components, npm packages).
setup:
	bash scripts/setup.sh
