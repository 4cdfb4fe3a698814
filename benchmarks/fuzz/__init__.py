"""Coverage-guided fuzzing (atheris, the `fuzz` extra) of what reads untrusted input: the reply
parser, the task loader and our VM server's request handling. Run `python -m benchmarks.fuzz --help`."""
