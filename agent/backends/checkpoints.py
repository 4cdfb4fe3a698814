"""What differs between the Kimi checkpoints the agent drives: prompt, sampling, images, history, serving.

Every number here is read from a published source named beside it; none was exercised
on this machine (no GPU, no weights). Sources:
- Kimi-VL: the model cards and github.com/MoonshotAI/Kimi-VL README ("Deployment": vllm serve
  flags; "Inference with Hugging Face Transformers": transformers 4.51.3 as the development
  environment), KIMI_VL.md for the processor's patch arithmetic.
- Kimi-K2.5: vLLM's recipe for moonshotai/Kimi-K2.5 (vLLM >= 0.15.0, verified with the
  v0.17.0 image; `--reasoning-parser kimi_k2`, `--mm-encoder-tp-mode data`, tensor parallel 8
  on 8×H200) and the checkpoint's docs/deploy_guidance.md; OSWorld's Kimi agent
  (mm_agents/kimi/kimi_agent.py: temperature 1, top_p 0.95, max_tokens 4096, the last 3
  screenshots, thinking read from `reasoning_content`, relative coordinates); Moonshot's
  advice to self-hosters to send WebP at quality 0.75.
- Kimi-K2.6: its docs/deploy_guidance.md ("same architecture as Kimi-K2.5, the deployment
  method can be directly reused"; vLLM 0.19.1 "manually verified").
- transformers for K2.5/K2.6: releases 5.4.0–5.5.3 force the model through a generic
  tokenizer backend, ignoring its tiktoken tokenizer (audit in thinking-machines-lab/
  tinker-cookbook#783).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from agent.backends.chat import IM_END, Sampling
from environments.encode import JPEG, ImageEncoding, webp
from prompts import Variant

DEFAULT_CHECKPOINT = "moonshotai/Kimi-VL-A3B-Thinking-2506"

ReplyLayout = Literal["think-markers", "think-tags", "thought-section"]
"""How a reply carries its thought when written out whole (fine-tuning data):
`◁think▷…◁/think▷` before the answer (Kimi-VL thinking), `<think>…</think>` (how the K2
chat template writes back a thought vLLM returned as `reasoning_content`), or a
`## Thought:` section (instruct)."""

ThinkingField = Literal["inline", "reasoning_content"]
"""Where a served checkpoint's thinking arrives: in the reply text (vLLM has no reasoning
parser for Kimi-VL's markers) or in the response's `reasoning_content` (`kimi_k2` parser)."""


@dataclass(frozen=True)
class ServeRecipe:
    """The `vllm serve` flags a checkpoint needs, and the library versions known to load it."""

    max_model_len: int
    tensor_parallel_size: int = 1
    reasoning_parser: str | None = None
    extra_flags: tuple[str, ...] = ()
    vllm: str = ""
    """A version specifier (PEP 440) the vllm package must meet."""
    transformers: str = ""
    known_good: str = ""
    """A combination a published source ran, in words."""
    source: str = ""


@dataclass(frozen=True)
class Checkpoint:
    name: str
    """The published id (Hugging Face), e.g. moonshotai/Kimi-K2.5."""
    variant: Variant
    max_patches: int
    """Image limit in 14-px patches before the processor scales an image down."""
    temperature: float
    max_tokens: int
    serve: ServeRecipe
    top_p: float = 1.0
    image: ImageEncoding = JPEG
    history_images: int = 6
    """Most screenshots one request carries (agent.episode.history trims in blocks below it)."""
    history_keep: int = 2
    """Screenshots left after a trim."""
    reply_layout: ReplyLayout = "think-markers"
    thinking: ThinkingField = "inline"
    exact_image_tokens: bool = True
    """False where the processor is not Kimi-VL's: image-token counts are then an estimate."""
    aliases: tuple[str, ...] = field(default=(), repr=False)
    """Served names published for this checkpoint, matched exactly."""

    @property
    def sampling(self) -> Sampling:
        """The recommended sampling, with `<|im_end|>` as a stop string."""
        return Sampling(
            temperature=self.temperature, top_p=self.top_p, max_tokens=self.max_tokens, stop=(IM_END,)
        )

    @property
    def images_per_prompt(self) -> int:
        """`--limit-mm-per-prompt`: the history's image cap with room to spare (too low fails requests)."""
        return self.history_images + 2


_KIMI_VL_SERVE = ServeRecipe(
    max_model_len=32768,
    vllm=">=0.9.1",
    transformers=">=4.48.2,<4.54",
    known_good="vllm 0.9.1 or later with transformers 4.51.3",
    source="Kimi-VL README (vllm serve flags; transformers 4.51.3 development environment) and model "
    "card (transformers >= 4.48.2); transformers >= 4.54 breaks the checkpoint's remote code (user "
    "reports, issue #23)",
)
_K2_SERVE = ServeRecipe(
    max_model_len=65536,
    tensor_parallel_size=8,
    reasoning_parser="kimi_k2",
    extra_flags=("--mm-encoder-tp-mode", "data"),
    vllm=">=0.15.0",
    transformers="!=5.4.*,!=5.5.0,!=5.5.1,!=5.5.2,!=5.5.3",
    known_good="vllm 0.17.0 (vLLM's verified image, 8×H200); 0.19.1 for K2.6",
    source="vLLM recipe moonshotai/Kimi-K2.5; the checkpoints' docs/deploy_guidance.md; "
    "tinker-cookbook#783 (transformers 5.4.0-5.5.3 ignore the Kimi tokenizer)",
)


def _k2(name: str, *aliases: str) -> Checkpoint:
    return Checkpoint(
        name, "thinking", 16384, temperature=1.0, top_p=0.95, max_tokens=4096, serve=_K2_SERVE,
        image=webp(75),
        # OSWorld's Kimi agent sends the last 3 screenshots; trimming to 2 when a 4th arrives keeps
        # at most 3 while the prompt prefix breaks only every other step (KIMI_VL.md, prefix stability).
        history_images=3, history_keep=2, reply_layout="think-tags", thinking="reasoning_content",
        exact_image_tokens=False, aliases=aliases,
    )


CHECKPOINTS: tuple[Checkpoint, ...] = (
    Checkpoint("moonshotai/Kimi-VL-A3B-Thinking-2506", "thinking", 16384, 0.8, 8192, _KIMI_VL_SERVE,
               aliases=("kimi-vl-thinking-2506",)),
    Checkpoint("moonshotai/Kimi-VL-A3B-Thinking", "thinking", 4096, 0.8, 8192, _KIMI_VL_SERVE),
    Checkpoint("moonshotai/Kimi-VL-A3B-Instruct", "instruct", 4096, 0.2, 2048, _KIMI_VL_SERVE,
               reply_layout="thought-section", aliases=("kimi-vl",)),
    _k2("moonshotai/Kimi-K2.5", "kimi-k2.5"),
    _k2("moonshotai/Kimi-K2.6", "kimi-k2.6"),
)
_BY_KEY = {c.name.rsplit("/", 1)[-1].lower(): c for c in CHECKPOINTS}
_BY_ALIAS = {alias: c for c in CHECKPOINTS for alias in c.aliases}


def resolve_checkpoint(model: str) -> tuple[Checkpoint, str | None]:
    """The checkpoint for a model id, local path or served name, and a warning when it is unknown.

    A name is known when its last path part starts with a published id's (so quantised
    copies and local folders match) or equals a published served name. An unknown name
    still works, with the settings its wording suggests ('instruct' → Instruct, otherwise
    Thinking-2506), and the warning says which.
    """
    name = model.rstrip("/").rsplit("/", 1)[-1].lower()
    if name in _BY_ALIAS:
        return _BY_ALIAS[name], None
    for key in sorted(_BY_KEY, key=len, reverse=True):
        if name.startswith(key):
            return _BY_KEY[key], None
    fallback = _BY_KEY["kimi-vl-a3b-instruct" if "instruct" in name else "kimi-vl-a3b-thinking-2506"]
    sampling = fallback.sampling
    warning = (
        f"unknown model {model!r}: using {fallback.name}'s settings (prompt {fallback.variant!r}, "
        f"temperature {sampling.temperature:g}, top_p {sampling.top_p:g}, max_tokens {sampling.max_tokens}, "
        f"{fallback.image.format} screenshots, {fallback.history_images} in history); known: "
        + ", ".join(c.name for c in CHECKPOINTS)
    )
    return fallback, warning


def checkpoint_for(model: str) -> Checkpoint:
    """The checkpoint facts for a model id or served name (`resolve_checkpoint` without the warning)."""
    return resolve_checkpoint(model)[0]


def default_sampling(model: str) -> Sampling:
    """Recommended sampling for the checkpoint, with `<|im_end|>` as a stop string."""
    return checkpoint_for(model).sampling
