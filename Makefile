# The two commands of the README: `make demo` (the main job) and `make test`.
.PHONY: setup demo test bench clean

setup:
	bash .ci/setup

demo: setup
	.venv/bin/kimi-agent demo

# The tests also need OSWorld's evaluator code (the differential oracle), vLLM's CPU build and our
# small guest image; each script is idempotent and cached, so reruns cost seconds.
test: setup
	bash .ci/setup-oracle
	bash .ci/setup-vllm
	bash .ci/setup-vm
	.venv/bin/python -m pytest

bench: setup
	.venv/bin/python -m benchmarks

clean:
	rm -rf .venv .venv-osworld .venv-vllm .cache .pytest_cache .hypothesis
