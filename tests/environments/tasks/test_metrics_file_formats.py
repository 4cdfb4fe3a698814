"""Archives, HTML, PDF images and pages, EPUB and MP3 tags (metrics/file_formats.py), on generated files."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import numpy as np
import pymupdf as fitz
import pytest
from PIL import Image

from environments.tasks.metrics.file_formats import (
    check_mp3_meta, check_pdf_pages, compare_archive, compare_epub, compare_htmls, compare_pdf_images,
)


def pdf(path: Path, pages: int = 1, image: Image.Image | None = None, text: str = "hello") -> str:
    document = fitz.open()
    for _ in range(pages):
        page = document.new_page()
        page.insert_text((72, 72), text)
        if image is not None:
            png = path.with_suffix(".png")
            image.save(png)
            page.insert_image(fitz.Rect(72, 100, 272, 300), filename=str(png))
    document.save(path)
    return str(path)


def archive(folder: Path, name: str, files: dict[str, str]) -> str:
    source = folder / f"{name}_src"
    source.mkdir()
    for file, text in files.items():
        (source / file).write_text(text)
    return shutil.make_archive(str(folder / name), "zip", source)


def test_archive_compares_member_names_then_each_file(tmp_path: Path) -> None:
    gold = archive(tmp_path, "gold", {"a.txt": "one", "b.txt": "two"})
    same = archive(tmp_path, "same", {"a.txt": "one", "b.txt": "two"})
    half = archive(tmp_path, "half", {"a.txt": "one", "b.txt": "changed"})
    other = archive(tmp_path, "other", {"a.txt": "one"})
    assert compare_archive(same, gold) == 1.0
    assert compare_archive(half, gold) == 0.5
    assert compare_archive(other, gold) == 0.0
    assert compare_archive(None, gold) == 0.0
    with pytest.raises(ValueError):
        compare_archive(same, gold, file_type="spreadsheet")


def test_htmls_compare_tags_texts_and_attributes(tmp_path: Path) -> None:
    gold = tmp_path / "g.html"
    gold.write_text('<html><body><td sdnum="1033;0">5</td></body></html>')
    renumbered = tmp_path / "r.html"
    renumbered.write_text('<html><body><td sdnum="1033;1">5</td></body></html>')
    changed = tmp_path / "c.html"
    changed.write_text('<html><body><td sdnum="1033;0">6</td></body></html>')
    assert compare_htmls(str(gold), str(gold)) == 1.0
    assert compare_htmls(str(renumbered), str(gold)) == 0.0
    assert compare_htmls(str(renumbered), str(gold), ignore_sdnum=True) == 1.0
    assert compare_htmls(str(changed), str(gold), ignore_sdnum=True) == 0.0


def test_pdf_images_by_perceptual_hash(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    stripes = Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8))
    flipped = Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8))
    gold = pdf(tmp_path / "g.pdf", image=stripes)
    assert compare_pdf_images(pdf(tmp_path / "same.pdf", image=stripes), gold) == 1.0
    assert compare_pdf_images(pdf(tmp_path / "flip.pdf", image=flipped), gold) == 0.0
    assert compare_pdf_images(pdf(tmp_path / "none.pdf"), gold) == 0.0
    assert compare_pdf_images(pdf(tmp_path / "n1.pdf"), pdf(tmp_path / "n2.pdf")) == 1.0
    assert compare_pdf_images(str(tmp_path / "missing.pdf"), gold) == 0.0


def test_pdf_pages_relation(tmp_path: Path) -> None:
    two = pdf(tmp_path / "two.pdf", pages=2)
    assert check_pdf_pages(two, {"relation": "eq", "ref_value": 2}) == 1.0
    assert check_pdf_pages(two, {"relation": "eq", "ref_value": 1}) == 0.0
    assert check_pdf_pages(None, {"relation": "eq", "ref_value": 1}) == 0.0


def epub(path: Path, chapter: str) -> str:
    with zipfile.ZipFile(path, "w") as book:
        book.writestr("content.opf", "<package>\n<dc:identifier>random-id</dc:identifier>\n"
                                     "<title>T</title>\n</package>\n")
        book.writestr("toc.ncx", "<ncx>\n<navPoint id='n1'/>\n</ncx>\n")
        book.writestr("chapter.html", f"<html><body>\n<p>{chapter}</p></body></html>")
    return str(path)


def test_epub_ignores_identifiers_and_line_breaks(tmp_path: Path) -> None:
    gold = epub(tmp_path / "g.epub", "Once upon a time")
    assert compare_epub(epub(tmp_path / "same.epub", "Once upon a time"), gold) == 1.0
    assert compare_epub(epub(tmp_path / "other.epub", "Something else"), gold) < 1.0
    assert compare_epub(None, gold) == 0.0


def test_mp3_tags(tmp_path: Path) -> None:
    from mutagen.easyid3 import EasyID3

    song = tmp_path / "song.mp3"
    song.write_bytes(b"")
    tags = EasyID3()
    tags["title"], tags["artist"] = "Missing You", "Cheng Xiang"
    tags.save(song)
    rules = {"title": {"method": "eq", "ref": "Missing You"},
             "artist": {"method": "eq", "ref": "Cheng Xiang"}}
    assert check_mp3_meta(str(song), rules) == 1.0
    assert check_mp3_meta(str(song), {"title": {"method": "eq", "ref": "Other"}}) == 0.0
    assert check_mp3_meta(None, rules) == 0.0
