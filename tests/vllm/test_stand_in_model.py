"""The generated stand-in model directory: what it holds (checked here without vLLM), and that vLLM,
serving it, renders Kimi-VL's chat format and expands an image to the tokens we count."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from agent.backends.checkpoints import checkpoint_for
from environments.patches import image_tokens
from tests.vllm.stand_in_model import SPECIAL_TOKENS, THINK_TOKENS, WORDS, vocabulary, write_stand_in_model
from tests.vllm.test_image_tokens import picture, png_url


@pytest.mark.parametrize("checkpoint", ["moonshotai/Kimi-VL-A3B-Thinking-2506",
                                        "moonshotai/Kimi-VL-A3B-Instruct"])
def test_the_directory_holds_kimi_vls_architecture_at_a_tiny_size(tmp_path: Path, checkpoint: str) -> None:
    folder = write_stand_in_model(tmp_path, checkpoint)
    assert checkpoint_for(str(folder)) == checkpoint_for(checkpoint)  # the agent takes it for that one
    config = json.loads((folder / "config.json").read_text())
    assert config["architectures"] == ["KimiVLForConditionalGeneration"] and config["model_type"] == "kimi_vl"
    vision, text = config["vision_config"], config["text_config"]
    assert vision["model_type"] == "moonvit" and vision["patch_size"] == 14
    assert vision["merge_kernel_size"] == [2, 2]
    assert (text["model_type"], text["kv_lora_rank"], text["qk_rope_head_dim"]) == ("deepseek_v3", 512, 64)
    processor = json.loads((folder / "preprocessor_config.json").read_text())
    assert processor["in_token_limit"] == checkpoint_for(checkpoint).max_patches
    assert processor["auto_map"]["AutoProcessor"] == "processing_kimi_vl.KimiVLProcessor"
    assert "STAND-IN" in (folder / "processing_kimi_vl.py").read_text()
    _, _, added = vocabulary()
    assert config["media_placeholder_token_id"] == added["<|media_pad|>"]
    tokenizer = json.loads((folder / "tokenizer.json").read_text())
    assert text["vocab_size"] == len(tokenizer["model"]["vocab"]) + len(added)


def test_the_tokenizer_has_kimi_vls_tokens() -> None:
    vocab, merges, added = vocabulary()
    assert set(SPECIAL_TOKENS) <= set(added) and set(THINK_TOKENS) <= set(added)
    media = {"<|media_start|>", "<|media_content|>", "<|media_pad|>", "<|media_end|>"}
    assert {"<|im_end|>", *media} <= added.keys()
    assert all(word in vocab for word in WORDS) and len(vocab) == 256 + sum(len(w) - 1 for w in WORDS)


@pytest.fixture(scope="module")
def tokenize(vllm_server):
    def tokens(messages: list[dict]) -> list[str]:
        response = httpx.post(
            f"{vllm_server.base_url.removesuffix('/v1')}/tokenize", timeout=120,
            json={"model": vllm_server.name, "messages": messages, "add_generation_prompt": True,
                  "return_token_strs": True},
        )
        assert response.status_code == 200, response.text
        return response.json()["token_strs"]
    return tokens


def test_vllm_renders_kimi_vls_chat_format(tokenize) -> None:
    """No newlines between turns, a default system turn, the generation prompt (KIMI_VL.md)."""
    text = "".join(tokenize([{"role": "user", "content": "hi"}])).replace("Ġ", " ")
    assert text == ("<|im_system|>system<|im_middle|>You are a helpful assistant<|im_end|>"
                    "<|im_user|>user<|im_middle|>hi<|im_end|><|im_assistant|>assistant<|im_middle|>")


def test_vllm_expands_an_image_between_the_media_markers(tokenize) -> None:
    width, height = 300, 100
    image = {"type": "image_url", "image_url": {"url": png_url(picture(width, height))}}
    tokens = tokenize([{"role": "system", "content": "S"},
                       {"role": "user", "content": [image, {"type": "text", "text": "x"}]}])
    start = tokens.index("<|media_start|>")
    pads = image_tokens(width, height, 16384)
    assert tokens[start:start + 3] == ["<|media_start|>", "image", "<|media_content|>"]
    assert tokens[start + 3:start + 3 + pads] == ["<|media_pad|>"] * pads
    assert tokens[start + 3 + pads] == "<|media_end|>" and tokens.count("<|media_pad|>") == pads == 44
