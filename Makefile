# The two commands of the README: `make demo` (the main job) and `make test`.
.PHONY: setup demo test bench clean

setup:
	bash .ci/setup

demo: setup
	.venv/bin/kimi-agent demo

test: setup
	.venv/bin/python -m pytest

bench: setup
	.venv/bin/python -m benchmarks

clean:
	rm -rf .venv .pytest_cache .hypothesis
