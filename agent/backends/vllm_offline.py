"""In-process `vllm.LLM` backend (the `vllm` extra): no HTTP, one process owns the GPU."""

from __future__ import annotations

import time
from typing import Any, Sequence

from agent.backends.base import BackendError
from agent.backends.chat import Completion, Message, Sampling, Usage
from agent.backends.vllm_server import ServeConfig


class VLLMOfflineBackend:
    """Loads the checkpoint with `vllm.LLM` and answers with `LLM.chat`."""

    def __init__(self, config: ServeConfig = ServeConfig()) -> None:
        try:
            import vllm
        except ImportError as err:
            raise BackendError(
                "the in-process backend needs vLLM: pip install -e '.[vllm]' on a machine with a CUDA GPU"
            ) from err
        self._vllm = vllm
        self._llm = vllm.LLM(
            model=config.checkpoint,
            trust_remote_code=True,
            max_model_len=config.max_model_len,
            max_num_batched_tokens=max(config.max_num_batched_tokens, 8192),
            limit_mm_per_prompt={"image": config.images_per_prompt},
            **({"max_num_seqs": config.max_num_seqs} if config.max_num_seqs else {}),
        )

    def complete(self, messages: Sequence[Message], sampling: Sampling) -> Completion:
        params = self._vllm.SamplingParams(
            temperature=sampling.temperature, top_p=sampling.top_p, max_tokens=sampling.max_tokens,
            stop=list(sampling.stop), seed=sampling.seed,
        )
        started = time.perf_counter()
        output = self._llm.chat(to_chat(messages), params, use_tqdm=False)[0]
        choice = output.outputs[0]
        return Completion(
            text=choice.text,
            finish_reason=choice.finish_reason,
            usage=Usage(prompt_tokens=len(output.prompt_token_ids or []), completion_tokens=len(choice.token_ids)),
            seconds=time.perf_counter() - started,
        )


def to_chat(messages: Sequence[Message]) -> list[dict[str, Any]]:
    """The OpenAI-style message dicts `LLM.chat` takes (the same shape the HTTP server takes)."""
    return [m.model_dump(mode="json") for m in messages]
