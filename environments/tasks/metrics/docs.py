"""Document metrics: compare_docx_files (OSWorld's docs.py) and compare_pdfs (OSWorld's chrome.py)."""

from __future__ import annotations

import re
from xml.sax import SAXException
from zipfile import BadZipFile

from docx import Document
from docx.opc.exceptions import OpcError
from lxml.etree import XMLSyntaxError
from odf import opendocument, text
from rapidfuzz import fuzz

from environments.tasks.metrics.options import DocxOptions
from environments.tasks.metrics.reference import follows_waa
from environments.tasks.registry import metric


def _docx_paragraphs(path: str) -> list[str]:
    return [p.text for p in Document(path).paragraphs]


def _odt_paragraphs(path: str) -> list[str]:
    """Each paragraph's own text and that of its direct spans, as OSWorld reads ODT files."""
    paragraphs = []
    for paragraph in opendocument.load(path).getElementsByType(text.P):
        parts = []
        for node in paragraph.childNodes:
            if node.nodeType == node.TEXT_NODE:
                parts.append(node.data)
            elif node.nodeType == node.ELEMENT_NODE and node.tagName == "text:span":
                parts.extend(child.data for child in node.childNodes if child.nodeType == child.TEXT_NODE)
        paragraphs.append("".join(parts))
    return paragraphs


def _paragraphs(path: str) -> list[str] | None:
    for suffix, read in ((".docx", _docx_paragraphs), (".odt", _odt_paragraphs)):
        if path.endswith(suffix):
            try:
                return read(path)
            except (OpcError, BadZipFile, KeyError, OSError, ValueError, XMLSyntaxError, SAXException):
                return None
    return None


def _squeezed(paragraphs: list[str], lower: bool) -> str:
    joined = re.sub(r"\s+", " ", "\n".join(paragraphs)).strip()
    return joined.lower() if lower else joined


@metric("compare_docx_files", DocxOptions)
def compare_docx_files(result: str | None, expected: str | None, *, options: DocxOptions) -> float:
    """Compare the paragraphs' text of two .docx (or two .odt) files.

    Options (OSWorld's defaults): `ignore_order` (False) sorts the paragraphs first;
    `delete_empty_lines` (False) then drops blank ones; `content_only` (False) returns the fuzzy
    ratio of the whole texts with whitespace squeezed; `ignore_blanks` (True) compares those
    squeezed texts, exactly or, with `fuzzy_match` (False), by fuzzy ratio; without it the
    paragraphs must be as many and equal one by one (or score their mean fuzzy ratio);
    `ignore_case` (False) lowercases. Files of different kinds score 0. Following WAA
    (metrics/reference.py), `delete_empty_lines` and `fuzzy_match` are ignored.
    """
    if not result or not expected or result.endswith(".docx") != expected.endswith(".docx"):
        return 0.0
    first, second = _paragraphs(result), _paragraphs(expected)
    if first is None or second is None:
        return 0.0
    if options.ignore_order:
        first, second = sorted(first), sorted(second)
    older = follows_waa()  # WAA's older version has neither `delete_empty_lines` nor `fuzzy_match`
    if options.delete_empty_lines and not older:
        first, second = [p for p in first if p.strip()], [p for p in second if p.strip()]
    ignore_case = options.ignore_case
    fuzzy = options.fuzzy_match and not older
    if options.content_only or options.ignore_blanks:
        text1, text2 = _squeezed(first, ignore_case), _squeezed(second, ignore_case)
        if options.content_only or fuzzy:
            return fuzz.ratio(text1, text2) / 100.0
        return float(text1 == text2)
    if len(first) != len(second):
        return 0.0
    if ignore_case:
        first, second = [p.lower() for p in first], [p.lower() for p in second]
    if fuzzy:
        return sum(fuzz.ratio(a, b) / 100.0 for a, b in zip(first, second)) / len(first) if first else 1.0
    return float(first == second)


def _pdf_text(path: str | None) -> str:
    """Every page's text as PyMuPDF extracts it (as OSWorld does), pages run together, stripped.

    PyMuPDF opens None as a new empty document, so a missing result reads as empty text, as in OSWorld.
    Imported here: it takes a second to load, and every command that scores would pay for it.
    """
    import pymupdf

    with pymupdf.open(path) as pdf:
        return "".join(page.get_text() for page in pdf).strip()


def _pdf_similarity(first: str | None, second: str | None) -> float:
    """Fuzzy ratio of two PDFs' texts; 0 when either cannot be opened (OSWorld logs and counts 0)."""
    try:
        return fuzz.ratio(_pdf_text(first), _pdf_text(second)) / 100.0
    except (OSError, RuntimeError, TypeError, ValueError):
        return 0.0


@metric("compare_pdfs")
def compare_pdfs(result: str | list[str] | None, expected: str | list[str] | None) -> float:
    """Fuzzy ratio of the two PDFs' texts (PyMuPDF, as OSWorld); for lists, the sum over pairs divided
    by the number of expected PDFs.

    A pair that cannot be read counts 0. Where OSWorld raises (a list of expected PDFs beside a
    single result, an empty list) this scores 0.
    """
    if not isinstance(expected, list):
        return _pdf_similarity(result, expected)
    if not isinstance(result, list) or not expected:
        return 0.0
    return sum(_pdf_similarity(a, b) for a, b in zip(result, expected)) / len(expected)
