"""compare_docx_files and compare_pdfs on documents built here (python-docx, odfpy, a hand-written PDF)."""

from __future__ import annotations

from pathlib import Path

import pytest
from docx import Document
from odf.opendocument import OpenDocumentText
from odf.text import P, Span

from environments.tasks.metrics.docs import compare_docx_files, compare_pdfs


def docx(path: Path, *paragraphs: str) -> str:
    document = Document()
    for paragraph in paragraphs:
        document.add_paragraph(paragraph)
    document.save(path)
    return str(path)


def odt(path: Path, *paragraphs: str) -> str:
    document = OpenDocumentText()
    for paragraph in paragraphs:
        head, _, tail = paragraph.partition(" ")
        element = P(text=head + " ")
        element.addElement(Span(text=tail))
        document.text.addElement(element)
    document.save(str(path))
    return str(path)


def text_pdf(path: Path, *lines: str) -> str:
    """A one-page PDF showing `lines` in Helvetica (plain ASCII, no parentheses or backslashes)."""
    body = " ".join(f"({line}) Tj 0 -16 Td" for line in lines)
    content = f"BT /F1 12 Tf 72 720 Td {body} ET"
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        ("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
         "/Resources << /Font << /F1 5 0 R >> >> >>"),
        f"<< /Length {len(content)} >>\nstream\n{content}\nendstream",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    data, offsets = b"%PDF-1.4\n", []
    for number, obj in enumerate(objects, start=1):
        offsets.append(len(data))
        data += f"{number} 0 obj\n{obj}\nendobj\n".encode()
    xref = len(data)
    data += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    data += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    data += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    path.write_bytes(data)
    return str(path)


def test_docx_match_mismatch_and_missing(tmp_path: Path) -> None:
    gold = docx(tmp_path / "gold.docx", "Title", "Body text here.")
    assert compare_docx_files(docx(tmp_path / "same.docx", "Title", "Body text here."), gold) == 1.0
    assert compare_docx_files(docx(tmp_path / "other.docx", "Title", "Other text."), gold) == 0.0
    assert compare_docx_files(None, gold) == 0.0
    assert compare_docx_files(str(tmp_path / "missing.docx"), gold) == 0.0
    (tmp_path / "broken.docx").write_text("not a zip")
    assert compare_docx_files(str(tmp_path / "broken.docx"), gold) == 0.0


def test_ignore_blanks_is_on_by_default(tmp_path: Path) -> None:
    gold = docx(tmp_path / "gold.docx", "Title", "Body text here.")
    spaced = docx(tmp_path / "spaced.docx", "Title  ", "", "Body   text here.")
    assert compare_docx_files(spaced, gold) == 1.0
    assert compare_docx_files(spaced, gold, ignore_blanks=False) == 0.0
    assert compare_docx_files(docx(tmp_path / "blank.docx", "Title", "", "Body text here."), gold,
                              ignore_blanks=False, delete_empty_lines=True) == 1.0


def test_ignore_case_and_ignore_order(tmp_path: Path) -> None:
    gold = docx(tmp_path / "gold.docx", "alpha", "beta")
    assert compare_docx_files(docx(tmp_path / "upper.docx", "ALPHA", "Beta"), gold) == 0.0
    assert compare_docx_files(str(tmp_path / "upper.docx"), gold, ignore_case=True) == 1.0
    assert compare_docx_files(str(tmp_path / "upper.docx"), gold, ignore_case=True, ignore_blanks=False) == 1.0
    swapped = docx(tmp_path / "swapped.docx", "beta", "alpha")
    assert compare_docx_files(swapped, gold) == 0.0
    assert compare_docx_files(swapped, gold, ignore_order=True) == 1.0


def test_content_only_and_fuzzy_match_give_the_similarity(tmp_path: Path) -> None:
    gold = docx(tmp_path / "gold.docx", "The quick brown fox", "jumps over the dog")
    near = docx(tmp_path / "near.docx", "The quick brown fox", "jumps over the lazy dog")
    for options in ({"content_only": True}, {"fuzzy_match": True}, {"fuzzy_match": True, "ignore_blanks": False}):
        similarity = compare_docx_files(near, gold, **options)
        assert 0.8 < similarity < 1.0, options
    assert compare_docx_files(near, gold) == 0.0
    assert compare_docx_files(gold, gold, content_only=True) == 1.0
    fewer = docx(tmp_path / "fewer.docx", "The quick brown fox")
    assert compare_docx_files(fewer, gold, fuzzy_match=True, ignore_blanks=False) == 0.0


def test_odt_files_and_mixed_kinds(tmp_path: Path) -> None:
    gold = odt(tmp_path / "gold.odt", "Hello there", "General Kenobi")
    assert compare_docx_files(odt(tmp_path / "same.odt", "Hello there", "General Kenobi"), gold) == 1.0
    assert compare_docx_files(odt(tmp_path / "other.odt", "Hello you", "General Kenobi"), gold) == 0.0
    assert compare_docx_files(docx(tmp_path / "same.docx", "Hello there", "General Kenobi"), gold) == 0.0


def test_compare_pdfs(tmp_path: Path) -> None:
    gold = text_pdf(tmp_path / "gold.pdf", "Invoice 243729", "Total 100 EUR")
    assert compare_pdfs(text_pdf(tmp_path / "same.pdf", "Invoice 243729", "Total 100 EUR"), gold) == 1.0
    near = compare_pdfs(text_pdf(tmp_path / "near.pdf", "Invoice 243729", "Total 900 EUR"), gold)
    assert 0.9 < near < 1.0
    assert compare_pdfs(text_pdf(tmp_path / "other.pdf", "Meeting agenda"), gold) < 0.5
    assert compare_pdfs(None, gold) == 0.0
    assert compare_pdfs(str(tmp_path / "missing.pdf"), gold) == 0.0
    (tmp_path / "broken.pdf").write_text("garbage")
    assert compare_pdfs(str(tmp_path / "broken.pdf"), gold) == 0.0


def test_compare_pdfs_reads_text_as_pymupdf_does(tmp_path: Path) -> None:
    """OSWorld extracts with PyMuPDF, pages run together; PyMuPDF opens None as an empty document, so a
    missing result against a PDF without text scores 1 there, and here."""
    import pymupdf

    blank = tmp_path / "blank.pdf"
    with pymupdf.open() as document:
        document.new_page()
        document.save(blank)
    assert compare_pdfs(None, str(blank)) == 1.0
    gold = text_pdf(tmp_path / "gold.pdf", "Invoice 243729", "Total 100 EUR")
    assert compare_pdfs([gold], [gold, gold]) == 0.5  # the sum over pairs, divided by the expected count


def test_compare_pdfs_averages_lists_of_files(tmp_path: Path) -> None:
    golds = [text_pdf(tmp_path / f"gold{i}.pdf", f"Certificate for person {i}") for i in range(3)]
    results = [text_pdf(tmp_path / f"r{i}.pdf", f"Certificate for person {i}") for i in range(2)]
    assert compare_pdfs([*results, str(tmp_path / "r2.pdf")], golds) == pytest.approx(2 / 3)
    assert compare_pdfs([*results, golds[2]], golds) == 1.0
    assert compare_pdfs(results[0], golds) == 0.0
