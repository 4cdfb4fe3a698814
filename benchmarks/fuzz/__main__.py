"""`python -m benchmarks.fuzz parser|tasks|server [--seconds N] [--corpus DIR]`: run one target under
atheris (libFuzzer) for N seconds. A crash or a `Finding` stops the run and leaves the input as
`crash-<hash>` in the artifacts folder; rerun one input with `--replay FILE`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.fuzz", description=__doc__.split("\n\n")[0])
    parser.add_argument("target", choices=["parser", "tasks", "server"])
    parser.add_argument("--seconds", type=int, default=60, help="how long to fuzz (default 60)")
    parser.add_argument("--corpus", type=Path, help="folder libFuzzer keeps interesting inputs in (default: none kept)")
    parser.add_argument("--artifacts", type=Path, default=Path("."), help="where a crashing input is written (default .)")
    parser.add_argument("--replay", type=Path, help="run the target once on this input file and exit")
    args = parser.parse_args(argv)
    try:
        import atheris
    except ImportError:
        parser.exit(2, "atheris is not installed: .venv/bin/pip install -e '.[fuzz]'\n")
    with atheris.instrument_imports(include=["actions", "environments", "benchmarks.fuzz"]):
        from benchmarks.fuzz import targets
    target = targets.TARGETS[args.target]
    if args.replay is not None:
        target(args.replay.read_bytes())
        print(f"{args.replay}: no finding")
        return
    args.artifacts.mkdir(parents=True, exist_ok=True)
    corpus = _corpus(args.corpus, args.target, targets.SEEDS[args.target])
    libfuzzer = [sys.argv[0], str(corpus), f"-max_total_time={args.seconds}", "-print_final_stats=1",
                 f"-artifact_prefix={args.artifacts}/", "-rss_limit_mb=4096", "-timeout=20"]
    atheris.Setup(libfuzzer, target)
    atheris.Fuzz()


def _corpus(folder: Path | None, target: str, seeds: list[bytes]) -> Path:
    """The corpus folder (a scratch one by default), holding the target's seeds when it is new."""
    if folder is None:
        import tempfile

        folder = Path(tempfile.mkdtemp(prefix=f"kimi-fuzz-{target}-"))
    folder.mkdir(parents=True, exist_ok=True)
    if not any(folder.iterdir()):
        for n, seed in enumerate(seeds):
            (folder / f"seed-{n}").write_bytes(seed)
    return folder


if __name__ == "__main__":
    main()
