"""Metrics on whole files of other formats: archives of files, HTML, PDF images and pages, EPUB
books, MP3 tags."""

from __future__ import annotations

import io
import operator
import os
import shutil
import tempfile
import zipfile
from pathlib import Path
from typing import Any

from environments.tasks.metrics.app_options import HtmlOptions, PassThroughOptions
from environments.tasks.metrics.table_rules import match_value
from environments.tasks.registry import METRICS, call_metric, metric, validated

ARCHIVE_METRICS = {"text": "compare_text_file", "pdf": "compare_pdfs", "docx": "compare_docx_files",
                   "ppt": "compare_pptx_files", "image": "compare_images", "csv": "compare_csv",
                   "table": "compare_table", "audio": "compare_audios", "video": "compare_videos"}
"""compare_archive's `file_type` → the metric comparing each pair of member files."""
PHASH_TOLERANCE = 5
"""Perceptual-hash distance under which compare_pdf_images counts two images as the same."""


@metric("compare_archive", PassThroughOptions)
def compare_archive(result: str | None, expected: str, *, options: PassThroughOptions) -> float:
    """Unpack both archives; the names under `file_path` must be the same, and each pair of files
    is scored by the metric for `file_type` (with the remaining options); the mean."""
    if not result:
        return 0.0
    name = ARCHIVE_METRICS.get(options.file_type)
    if name is None:
        raise ValueError(f"compare_archive: file type {options.file_type!r} is not supported")
    entry = METRICS[name]
    rest = {k: v for k, v in options.model_dump().items() if k not in ("file_type", "file_path")}
    inner = validated(entry, rest, f"compare_archive's {name}")
    with tempfile.TemporaryDirectory() as folder:
        mine, gold = Path(folder, "result"), Path(folder, "expected")
        shutil.unpack_archive(result, mine)
        shutil.unpack_archive(expected, gold)
        names = sorted(p.name for p in (mine / options.file_path).iterdir())
        if names != sorted(p.name for p in (gold / options.file_path).iterdir()):
            return 0.0
        if not names:
            raise ZeroDivisionError("compare_archive: the archives hold no files")
        scores = [call_metric(entry, (str(mine / options.file_path / n), str(gold / options.file_path / n)),
                              inner) for n in names]
    return sum(scores) / len(scores)


@metric("compare_htmls", HtmlOptions)
def compare_htmls(result: str, expected: str, *, options: HtmlOptions) -> float:
    """Walk both documents (BeautifulSoup with lxml) node by node: same tag names, stripped texts and
    attributes (`sdnum` ignored with `ignore_sdnum`), equal text nodes."""
    from bs4 import BeautifulSoup, Tag

    with open(result, encoding="utf-8") as first, open(expected, encoding="utf-8") as second:
        soups = BeautifulSoup(first, "lxml"), BeautifulSoup(second, "lxml")

    def attributes(tag: Tag) -> dict[str, Any]:
        return {k: v for k, v in tag.attrs.items() if k != "sdnum"} if options.ignore_sdnum else tag.attrs

    for a, b in zip(soups[0].descendants, soups[1].descendants):
        if not (isinstance(a, Tag) and isinstance(b, Tag)):
            if a != b:
                return 0.0
            continue
        if a.name != b.name or a.text.strip() != b.text.strip():
            return 0.0
        if a.attrs != b.attrs and attributes(a) != attributes(b):
            return 0.0
    return 1.0


def _pdf_images(path: str) -> list[Any]:
    import pymupdf
    from PIL import Image, UnidentifiedImageError

    images = []
    with pymupdf.open(path) as document:
        for page in document:
            for image in page.get_images(full=True):
                try:
                    images.append(Image.open(io.BytesIO(document.extract_image(image[0])["image"])))
                except UnidentifiedImageError:
                    continue
    return images


@metric("compare_pdf_images")
def compare_pdf_images(result: str | None, expected: str | None) -> float:
    """The share of embedded images (PyMuPDF, in page order) whose perceptual hashes are within 5;
    0 when the counts differ, 1 when neither PDF has images."""
    if not isinstance(result, str) or not isinstance(expected, str):
        return 0.0
    if not (os.path.exists(result) and os.path.exists(expected)):
        return 0.0
    import imagehash

    try:
        first, second = _pdf_images(result), _pdf_images(expected)
    except RuntimeError:  # PyMuPDF's error for a file that is not a readable PDF
        return 0.0
    if len(first) != len(second):
        return 0.0
    if not first:
        return 1.0
    same = sum(imagehash.phash(a) - imagehash.phash(b) <= PHASH_TOLERANCE for a, b in zip(first, second))
    return same / len(first)


@metric("check_pdf_pages")
def check_pdf_pages(result: str | None, rules: dict[str, Any]) -> float:
    """The page count compared to `ref_value` by `relation` (eq, lt, ge, …)."""
    if result is None:
        return 0.0
    from pypdf import PdfReader

    return float(getattr(operator, rules["relation"])(len(PdfReader(result).pages), rules["ref_value"]))


def _epub_parts(path: str, folder: Path) -> list[Path]:
    """toc.ncx without navPoint lines, content.opf without dc:identifier lines, and every .html
    re-serialized without line breaks, written into `folder` (OSWorld's normal form of a book)."""
    import lxml.html

    written: list[Path] = []
    try:
        with zipfile.ZipFile(path) as book:
            members = book.namelist()
            for name, drop in (("toc.ncx", "navPoint"), ("content.opf", "dc:identifier")):
                if name in members:
                    target = folder / name
                    lines = book.read(name).decode().splitlines()
                    target.write_text("".join(line + "\n" for line in lines if drop not in line))
                    written.append(target)
            for name in members:
                if name.endswith(".html"):
                    text = "".join(ch for ch in book.read(name).decode() if ch not in "\r\n")
                    target = folder / name
                    target.parent.mkdir(parents=True, exist_ok=True)
                    tree = lxml.html.fromstring(text.encode())
                    target.write_text(lxml.html.tostring(tree, pretty_print=True, encoding="unicode"))
                    written.append(target)
    except zipfile.BadZipFile:
        return []
    return sorted(written)


@metric("compare_epub")
def compare_epub(result: str | None, expected: str) -> float:
    """The mean line-diff similarity (diff_text_file) of the books' normalized parts, pair by pair."""
    if result is None:
        return 0.0
    similarity = METRICS["diff_text_file"]
    with tempfile.TemporaryDirectory() as folder:
        mine, gold = Path(folder, "result"), Path(folder, "expected")
        mine.mkdir()
        gold.mkdir()
        first, second = _epub_parts(result, mine), _epub_parts(expected, gold)
        total = sum(float(similarity.fn(str(a), str(b))) for a, b in zip(first, second))
    return total / len(first) if first else total


@metric("check_mp3_meta")
def check_mp3_meta(result: str | None, rules: dict[str, dict[str, Any]]) -> float:
    """Every ID3 tag named in the rules (list values joined by ",") matches its method/ref."""
    if result is None:
        return 0.0
    from mutagen.easyid3 import EasyID3

    tags = EasyID3(result)
    for key, rule in rules.items():
        value = tags.get(key, "")
        if not match_value(",".join(value) if isinstance(value, list) else value, rule):
            return 0.0
    return 1.0
