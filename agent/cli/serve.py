"""`kimi-agent serve`: `vllm serve` with the checkpoint's own flags, supervised until Ctrl+C."""

from __future__ import annotations

import shlex
import time
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.markup import escape

from agent.backends.base import BackendError
from agent.backends.checkpoints import DEFAULT_CHECKPOINT, resolve_checkpoint
from agent.backends.vllm_server import DEFAULT_PORT, ServeConfig, VLLMServer

console = Console()


def serve_command(
    checkpoint: Annotated[str, typer.Option(help="Hugging Face id or local path of the checkpoint, e.g. moonshotai/Kimi-K2.5.")] = DEFAULT_CHECKPOINT,
    served_name: Annotated[Optional[str], typer.Option(help="Model name clients use (default: the checkpoint).")] = None,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = DEFAULT_PORT,
    max_model_len: Annotated[Optional[int], typer.Option(help="Context length to allocate (default: the checkpoint's recipe, 32768 for Kimi-VL, 65536 for Kimi-K2.5).")] = None,
    max_num_batched_tokens: Annotated[int, typer.Option(help="Must exceed the largest image's token count.")] = 16384,
    images_per_prompt: Annotated[Optional[int], typer.Option(help="--limit-mm-per-prompt image count (default: the checkpoint's history cap + 2).")] = None,
    tensor_parallel_size: Annotated[Optional[int], typer.Option(min=1, help="GPUs to shard over (default: the checkpoint's recipe, 1 for Kimi-VL, 8 for Kimi-K2.5).")] = None,
    max_tokens: Annotated[Optional[int], typer.Option(min=1, help="Reply budget for clients that send no max_tokens (default: the checkpoint's).")] = None,
    max_num_seqs: Annotated[Optional[int], typer.Option(help="Lower this on 24 GB GPUs.")] = None,
    log: Annotated[Path, typer.Option(help="Where the server's output goes.")] = Path("recordings/vllm-serve.log"),
    vllm: Annotated[str, typer.Option(help="The vllm program to run, e.g. another virtual environment's bin/vllm.")] = "vllm",
    vllm_arg: Annotated[Optional[list[str]], typer.Option(help="Extra argument passed to vllm serve as is (repeatable), e.g. --vllm-arg=--enforce-eager.")] = None,
    dry_run: Annotated[bool, typer.Option(help="Print the vllm command line and exit.")] = False,
) -> None:
    """Start `vllm serve` for a Kimi checkpoint with its flags (reasoning parser, image limit, context, reply budget), wait until healthy, and supervise it until Ctrl+C.

    Example: kimi-agent serve --checkpoint moonshotai/Kimi-K2.5 --dry-run
    """
    _, warning = resolve_checkpoint(checkpoint)
    if warning:  # on stderr: `serve --dry-run > serve.sh` keeps only the command line
        Console(stderr=True).print(f"[yellow]warning: {escape(warning)}[/yellow]", highlight=False)
    config = ServeConfig(
        checkpoint=checkpoint, served_name=served_name, host=host, port=port, max_model_len=max_model_len,
        max_num_batched_tokens=max_num_batched_tokens, images_per_prompt=images_per_prompt,
        tensor_parallel_size=tensor_parallel_size, max_tokens=max_tokens, max_num_seqs=max_num_seqs,
        extra_args=tuple(vllm_arg or ()), vllm_executable=vllm,
    )
    console.print(" ".join(shlex.quote(a) for a in config.command()), highlight=False)
    if dry_run:
        return
    server = VLLMServer(config, log)
    try:
        server.start()
        console.print(f"[green]serving {config.name} at {config.base_url}[/green] (log: {log}); Ctrl+C stops it", highlight=False)
        while server.process is not None and server.process.poll() is None:
            time.sleep(1)
        console.print(f"[red]vllm serve exited:[/red]\n{escape(server.log_tail())}", highlight=False)
        raise typer.Exit(1)
    except BackendError as err:
        console.print(f"[red]{escape(str(err))}[/red]", highlight=False)
        raise typer.Exit(2) from None
    except KeyboardInterrupt:
        console.print("stopping vllm serve")
    finally:
        server.stop()
