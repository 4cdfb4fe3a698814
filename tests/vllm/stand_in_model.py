"""A tiny Kimi-VL model directory that vLLM serves with its own `KimiVLForConditionalGeneration`
(MoonViT + DeepSeek-V3 MoE decoder with MLA) and random weights (`--load-format dummy`).

A STAND-IN, for tests and benchmarks only: nothing is downloaded, and the tokenizer, chat
template and processor here are ours, standing in for the checkpoint's remote code
(`tokenization_moonshot.py` with its tiktoken file, `processing_kimi_vl.py`). What they share
with the real checkpoint is what vLLM and our arithmetic depend on (KIMI_VL.md): the
architecture classes, 14-px patches merged 2×2, the checkpoint's `in_token_limit`, the special
tokens and the chat format. What they cannot share: the weights, the real vocabulary (ours is
byte-level, so a text costs about four times the tokens it would with Kimi's tokenizer) and
any behaviour of the real remote code beyond that contract.

    python -m tests.vllm.stand_in_model DIR [--checkpoint moonshotai/Kimi-VL-A3B-Instruct]
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

from agent.backends.checkpoints import DEFAULT_CHECKPOINT, checkpoint_for

PROCESSOR_SOURCE = Path(__file__).with_name("stand_in_processing.py")

SPECIAL_TOKENS = (
    "[BOS]", "[EOS]", "<|im_end|>", "<|im_user|>", "<|im_assistant|>", "<|im_system|>", "<|im_middle|>",
    "<|media_start|>", "<|media_content|>", "<|media_end|>", "<|media_pad|>",
)
THINK_TOKENS = ("◁think▷", "◁/think▷")
"""Ordinary (not special) tokens: the markers survive `skip_special_tokens`, as with the real tokenizer."""
WORDS = ("image", "user", "system", "assistant")
"""Whole-word tokens of the chat format: one token each, as in Kimi's vocabulary, so a turn costs
four tokens and an image's markers four (agent.episode.tokens)."""

CHAT_TEMPLATE = (
    "{%- if messages[0]['role'] != 'system' -%}"
    "<|im_system|>system<|im_middle|>You are a helpful assistant<|im_end|>"
    "{%- endif -%}"
    "{%- for message in messages -%}"
    "{%- if message['role'] == 'system' -%}<|im_system|>"
    "{%- elif message['role'] == 'user' -%}<|im_user|>"
    "{%- else -%}<|im_assistant|>{%- endif -%}"
    "{{- message['role'] -}}<|im_middle|>"
    "{%- if message['content'] is string -%}{{- message['content'] -}}"
    "{%- else -%}{%- for part in message['content'] -%}"
    "{%- if part['type'] in ('image', 'image_url') -%}"
    "<|media_start|>image<|media_content|><|media_pad|><|media_end|>"
    "{%- else -%}{{- part['text'] -}}{%- endif -%}"
    "{%- endfor -%}{%- endif -%}<|im_end|>"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}<|im_assistant|>assistant<|im_middle|>{%- endif -%}"
)
"""Kimi-VL's chat format as KIMI_VL.md describes it: no newlines between turns, a default system
turn, an image part as the media markers around one placeholder the processor expands."""


def _byte_alphabet() -> list[str]:
    """The printable stand-ins byte-level BPE uses for the 256 byte values (in byte order)."""
    printable = {*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1),
                 *range(ord("®"), ord("ÿ") + 1)}
    chars, extra = [], 0
    for byte in range(256):
        if byte in printable:
            chars.append(chr(byte))
        else:
            chars.append(chr(256 + extra))
            extra += 1
    return chars


def vocabulary() -> tuple[dict[str, int], list[list[str]], dict[str, int]]:
    """(BPE vocabulary, merges, added tokens): 256 bytes, whole-word merges, then the added tokens."""
    vocab = {char: i for i, char in enumerate(_byte_alphabet())}
    merges = []
    for word in WORDS:
        for end in range(2, len(word) + 1):
            merges.append([word[: end - 1], word[end - 1]])
            vocab.setdefault(word[:end], len(vocab))
    added = {token: len(vocab) + i for i, token in enumerate((*SPECIAL_TOKENS, *THINK_TOKENS))}
    return vocab, merges, added


def tokenizer_json() -> dict:
    vocab, merges, added = vocabulary()
    byte_level = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [
            {"id": i, "content": token, "single_word": False, "lstrip": False, "rstrip": False,
             "normalized": False, "special": token in SPECIAL_TOKENS}
            for token, i in added.items()
        ],
        "normalizer": None,
        "pre_tokenizer": byte_level,
        "post_processor": None,
        "decoder": byte_level,
        "model": {
            "type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
            "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
            "vocab": vocab, "merges": merges,
        },
    }


def model_config(token_ids: dict[str, int], vocab_size: int) -> dict:
    """Kimi-VL's configuration shrunk: the real model types and MLA head sizes, tiny widths and depths."""
    return {
        "architectures": ["KimiVLForConditionalGeneration"],
        "model_type": "kimi_vl",
        "media_placeholder_token_id": token_ids["<|media_pad|>"],
        "pad_token_id": token_ids["[EOS]"],
        "torch_dtype": "bfloat16",
        "vision_config": {
            "model_type": "moonvit", "patch_size": 14, "merge_kernel_size": [2, 2],
            "init_pos_emb_height": 64, "init_pos_emb_width": 64,
            "hidden_size": 64, "intermediate_size": 128, "num_attention_heads": 2, "num_hidden_layers": 1,
        },
        "text_config": {
            "model_type": "deepseek_v3",
            "vocab_size": vocab_size,
            "hidden_size": 128, "intermediate_size": 256, "moe_intermediate_size": 64,
            "num_hidden_layers": 2, "first_k_dense_replace": 1, "moe_layer_freq": 1,
            "num_attention_heads": 2, "num_key_value_heads": 2,
            # MLA: vLLM's kernels accept the real head sizes only (512 + 64 works, 32 + 16 is refused).
            "kv_lora_rank": 512, "q_lora_rank": None, "qk_rope_head_dim": 64, "qk_nope_head_dim": 128,
            "v_head_dim": 128,
            "n_routed_experts": 4, "n_shared_experts": 1, "num_experts_per_tok": 2,
            "n_group": 1, "topk_group": 1, "topk_method": "noaux_tc", "scoring_func": "sigmoid",
            "norm_topk_prob": True, "routed_scaling_factor": 2.446,
            "hidden_act": "silu", "rms_norm_eps": 1e-5, "rope_theta": 800000.0,
            "max_position_embeddings": 131072,
            "tie_word_embeddings": False, "torch_dtype": "bfloat16",
            "bos_token_id": token_ids["[BOS]"], "eos_token_id": token_ids["[EOS]"],
        },
    }


def write_stand_in_model(parent: Path, checkpoint: str = DEFAULT_CHECKPOINT) -> Path:
    """Write the directory standing in for `checkpoint` under `parent` and return it.

    It is named after the checkpoint (`<name>-stand-in`), so the agent, given the directory as
    its model, picks that checkpoint's prompt variant, sampling and image-token limit; the
    processor's `in_token_limit` is that same limit."""
    folder = parent / f"{checkpoint.rsplit('/', 1)[-1].lower()}-stand-in"
    folder.mkdir(parents=True, exist_ok=True)
    vocab, _, added = vocabulary()
    vocab_size = len(vocab) + len(added)

    def write(name: str, data: dict) -> None:
        (folder / name).write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")

    write("config.json", model_config(added, vocab_size))
    write("tokenizer.json", tokenizer_json())
    write("tokenizer_config.json", {
        "tokenizer_class": "PreTrainedTokenizerFast", "bos_token": "[BOS]", "eos_token": "[EOS]",
        "pad_token": "[EOS]", "model_max_length": 131072, "chat_template": CHAT_TEMPLATE,
    })
    write("generation_config.json", {"bos_token_id": added["[BOS]"], "eos_token_id": added["[EOS]"]})
    write("preprocessor_config.json", {
        "auto_map": {
            "AutoProcessor": "processing_kimi_vl.KimiVLProcessor",
            "AutoImageProcessor": "processing_kimi_vl.KimiVLImageProcessor",
        },
        "processor_class": "KimiVLProcessor",
        "image_processor_type": "KimiVLImageProcessor",
        "patch_size": 14, "merge_kernel_size": [2, 2],
        "in_token_limit": checkpoint_for(checkpoint).max_patches,
        "image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5],
    })
    shutil.copyfile(PROCESSOR_SOURCE, folder / "processing_kimi_vl.py")
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(
        description="Write a tiny Kimi-VL stand-in model directory (tests and benchmarks only)."
    )
    parser.add_argument("parent", type=Path, help="folder to write the model directory into")
    parser.add_argument("--checkpoint", default=DEFAULT_CHECKPOINT, help="the checkpoint it stands in for")
    args = parser.parse_args()
    print(write_stand_in_model(args.parent, args.checkpoint))


if __name__ == "__main__":
    main()
