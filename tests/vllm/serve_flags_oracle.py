"""Parses `vllm serve` command lines with the installed vLLM's own argument parser.

Run by tests/vllm with .venv-vllm's Python (it imports vLLM, which the project's environment
does not have): reads a JSON list of argv lists (`vllm serve MODEL ...`) on stdin and prints
one JSON verdict per command line, so a flag vLLM renamed or dropped fails a test, not a user.
"""

from __future__ import annotations

import contextlib
import io
import json
import sys


def serve_parser():
    """The parser `vllm serve` uses, built the way vLLM's CLI builds it (its subcommand parser)."""
    from vllm.entrypoints.cli import serve
    from vllm.utils.argparse_utils import FlexibleArgumentParser

    parser = FlexibleArgumentParser(prog="vllm")
    subparsers = parser.add_subparsers(dest="subparser")
    [command] = serve.cmd_init()
    command.subparser_init(subparsers)
    return parser, command


def verdict(parser, command, argv: list[str]) -> dict:
    from vllm.engine.arg_utils import EngineArgs
    from vllm.reasoning import ReasoningParserManager

    errors = io.StringIO()
    try:
        with contextlib.redirect_stderr(errors):
            args = parser.parse_args(argv[1:])
        command.validate(args)
        if args.model_tag is not None:  # what `vllm serve MODEL` itself does before building the engine
            args.model = args.model_tag
        engine = EngineArgs.from_cli_args(args)
        if args.reasoning_parser and args.reasoning_parser not in ReasoningParserManager.list_registered():
            return {"ok": False, "error": f"unknown reasoning parser {args.reasoning_parser!r}"}
    except SystemExit:
        return {"ok": False, "error": errors.getvalue().strip().splitlines()[-1:]}
    except (TypeError, ValueError) as err:
        return {"ok": False, "error": str(err)}
    return {
        "ok": True, "model": engine.model, "served_model_name": engine.served_model_name,
        "max_model_len": engine.max_model_len, "limit_mm_per_prompt": engine.limit_mm_per_prompt,
        "trust_remote_code": engine.trust_remote_code, "reasoning_parser": args.reasoning_parser or None,
    }


def main() -> None:
    parser, command = serve_parser()
    commands = json.load(sys.stdin)
    print(json.dumps([verdict(parser, command, argv) for argv in commands], default=str))


if __name__ == "__main__":
    main()
