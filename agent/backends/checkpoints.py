"""What differs between Kimi-VL checkpoints: thinking or not, image limit, sampling defaults."""

from __future__ import annotations

from dataclasses import dataclass

from agent.backends.chat import IM_END, Sampling
from prompts import Variant

DEFAULT_CHECKPOINT = "moonshotai/Kimi-VL-A3B-Thinking-2506"


@dataclass(frozen=True)
class Checkpoint:
    variant: Variant
    max_patches: int
    """Image limit in 14-px patches before the processor scales an image down."""
    temperature: float
    max_tokens: int


_KNOWN = {
    "kimi-vl-a3b-thinking-2506": Checkpoint("thinking", 16384, 0.8, 8192),
    "kimi-vl-a3b-thinking": Checkpoint("thinking", 4096, 0.8, 8192),
    "kimi-vl-a3b-instruct": Checkpoint("instruct", 4096, 0.2, 2048),
}


def checkpoint_for(model: str) -> Checkpoint:
    """The checkpoint facts for a model id or served name; unknown names are treated by their
    wording ('instruct' → instruct, otherwise the default Thinking-2506 behaviour)."""
    name = model.rsplit("/", 1)[-1].lower()
    for key in sorted(_KNOWN, key=len, reverse=True):
        if name.startswith(key):
            return _KNOWN[key]
    return _KNOWN["kimi-vl-a3b-instruct"] if "instruct" in name else _KNOWN["kimi-vl-a3b-thinking-2506"]


def default_sampling(model: str) -> Sampling:
    """Recommended sampling for the checkpoint, with `<|im_end|>` as a stop string."""
    c = checkpoint_for(model)
    return Sampling(temperature=c.temperature, max_tokens=c.max_tokens, stop=(IM_END,))
