"""STAND-IN for the Kimi-VL checkpoint's remote code (`processing_kimi_vl.py`,
`image_processing_kimi_vl.py`): our own processor, written into the generated test model
directory as `processing_kimi_vl.py` and loaded by vLLM with `--trust-remote-code`.

For tests and benchmarks only. It implements exactly what vLLM's `kimi_vl.py` reads from a
Kimi-VL processor (KIMI_VL.md, last section): an `image_processor` with `patch_size`,
`merge_kernel_size` and `in_token_limit`, an `image_token` that is the media placeholder, and a
call returning `pixel_values` (one row per 14-px patch, row-major, as MoonViT embeds them) with
`image_grid_hws` (patch rows and columns per image). It runs inside vLLM's environment, never
in the project's, so it imports only what vLLM itself ships (torch, numpy, PIL, transformers).
"""

from __future__ import annotations

import math

import numpy as np
import torch
from PIL import Image
from transformers import BatchFeature
from transformers.image_processing_utils import BaseImageProcessor
from transformers.processing_utils import ProcessorMixin

MEDIA_PLACEHOLDER = "<|media_pad|>"


class KimiVLImageProcessor(BaseImageProcessor):
    """Kimi-VL's image rule: scale down (never up) to `in_token_limit` patches, zero-pad right and
    bottom to a multiple of patch × merge, normalise, cut into patches."""

    model_input_names = ["pixel_values", "image_grid_hws"]

    def __init__(
        self,
        patch_size: int = 14,
        merge_kernel_size: tuple[int, int] = (2, 2),
        in_token_limit: int = 16384,
        image_mean: tuple[float, float, float] = (0.5, 0.5, 0.5),
        image_std: tuple[float, float, float] = (0.5, 0.5, 0.5),
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        self.patch_size = patch_size
        self.merge_kernel_size = tuple(merge_kernel_size)
        self.in_token_limit = in_token_limit
        self.image_mean = tuple(image_mean)
        self.image_std = tuple(image_std)

    def model_size(self, width: int, height: int) -> tuple[int, int]:
        """The size an image is resized to before padding (the rule vLLM also applies to count tokens)."""
        patches = (width // self.patch_size) * (height // self.patch_size)
        if patches <= self.in_token_limit:
            return width, height
        scale = math.sqrt(self.in_token_limit / patches)
        return int(width * scale), int(height * scale)

    def patchify(self, image: Image.Image) -> tuple[torch.Tensor, tuple[int, int]]:
        """One image → (patches [n, 3, p, p], (patch rows, patch columns))."""
        image = image.convert("RGB")
        size = self.model_size(*image.size)
        if size != image.size:
            image = image.resize(size, Image.Resampling.BICUBIC)
        cell_h, cell_w = (self.patch_size * k for k in self.merge_kernel_size)
        width, height = image.size
        padded_w, padded_h = math.ceil(width / cell_w) * cell_w, math.ceil(height / cell_h) * cell_h
        pixels = np.zeros((padded_h, padded_w, 3), dtype=np.float32)
        rgb = np.asarray(image, dtype=np.float32) / 255.0
        pixels[:height, :width] = (rgb - self.image_mean) / self.image_std
        p = self.patch_size
        rows, cols = padded_h // p, padded_w // p
        # (rows, p, cols, p, 3) → (rows, cols, 3, p, p): patches row-major, channels first.
        patches = torch.from_numpy(pixels).view(rows, p, cols, p, 3).permute(0, 2, 4, 1, 3)
        patches = patches.reshape(-1, 3, p, p)
        return patches, (rows, cols)

    def preprocess(self, images, return_tensors=None, **kwargs) -> BatchFeature:
        if isinstance(images, Image.Image):
            images = [images]
        patched = [self.patchify(_as_pil(image)) for image in images]
        return BatchFeature(
            data={
                "pixel_values": torch.cat([patches for patches, _ in patched]),
                "image_grid_hws": torch.tensor([grid for _, grid in patched], dtype=torch.long),
            },
            tensor_type=return_tensors,
        )

    def __call__(self, images, **kwargs) -> BatchFeature:
        return self.preprocess(images, **kwargs)


class KimiVLProcessor(ProcessorMixin):
    """Tokenizer + image processor; expands each media placeholder to one token per merged patch."""

    image_processor_class = "AutoImageProcessor"
    tokenizer_class = "AutoTokenizer"

    def __init__(self, image_processor=None, tokenizer=None, chat_template=None, **kwargs) -> None:
        super().__init__(image_processor, tokenizer, chat_template=chat_template)
        self.image_token = MEDIA_PLACEHOLDER

    def __call__(self, images=None, text=None, return_tensors=None, **kwargs) -> BatchFeature:
        data: dict = {}
        texts = [text] if isinstance(text, str) else list(text or [])
        if images is not None:
            image_inputs = self.image_processor(images, return_tensors=return_tensors)
            data.update(image_inputs)
            kh, kw = self.image_processor.merge_kernel_size
            counts = iter(int(h * w) // (kh * kw) for h, w in image_inputs["image_grid_hws"].tolist())
            texts = [_expand(t, self.image_token, counts) for t in texts]
        if texts:
            data.update(self.tokenizer(texts, add_special_tokens=False, return_tensors=return_tensors))
        return BatchFeature(data=data, tensor_type=return_tensors)


def _expand(text: str, token: str, counts) -> str:
    pieces = text.split(token)
    out = [pieces[0]]
    for piece in pieces[1:]:
        out.append(token * next(counts))
        out.append(piece)
    return "".join(out)


def _as_pil(image) -> Image.Image:
    if isinstance(image, Image.Image):
        return image
    array = np.asarray(image)
    if array.ndim == 3 and array.shape[0] in (1, 3, 4) and array.shape[-1] not in (1, 3, 4):
        array = array.transpose(1, 2, 0)
    return Image.fromarray(array.astype(np.uint8))
