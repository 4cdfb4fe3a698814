"""Synthetic files for differential cases: workbooks, slides, documents, PDFs, images and texts.

Each maker writes a file built from a seed and a `variant` (what the case changes against the
expected file), so the matching, nearly matching and non-matching result files come from the same
code as the expected one. Variants: "same" (identical content), "near" (one small change a metric
may or may not tolerate), "other" (different content), plus format-specific ones named below.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import openpyxl
import pymupdf
from docx import Document
from openpyxl.formatting.rule import CellIsRule, FormulaRule
from openpyxl.styles import Font, PatternFill
from PIL import Image
from pptx import Presentation
from pptx.util import Emu, Pt

WORDS = [
    "alpha",
    "Beta",
    "gamma",
    "Delta",
    "epsilon",
    "Zeta",
    "eta",
    "Theta",
    "iota",
    "Kappa",
    "ünïcödé",
    "日本語",
]


def text_lines(seed: int, count: int = 6) -> list[str]:
    rng = random.Random(seed)
    return [" ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 6))) for _ in range(count)]


def write_text(path: Path, seed: int, variant: str) -> Path:
    """A text file; variants add a BOM, CRLF line ends, undecodable bytes, case or blank changes."""
    lines = text_lines(seed)
    if variant == "near":
        lines[-1] += "!"
    elif variant == "other":
        lines = text_lines(seed + 1000)
    body = "\n".join(lines) + "\n"
    if variant == "case":
        body = body.upper()
    elif variant == "blanks":
        body = body.replace(" ", "  \t").replace("\n", "\n\n")
    encoded = body.encode("utf-8")
    if variant == "bom":
        encoded = b"\xef\xbb\xbf" + encoded
    elif variant == "crlf":
        encoded = body.replace("\n", "\r\n").encode("utf-8")
    elif variant == "undecodable":
        encoded = body.encode("utf-8") + b"\xff\xfe\xfa caf\xe9\n"
    path.write_bytes(encoded)
    return path


def write_csv(path: Path, seed: int, variant: str) -> Path:
    rng = random.Random(seed)
    rows = [["Name", "Score", "Note"]] + [
        [rng.choice(WORDS), str(rng.randint(0, 99)), rng.choice(WORDS)] for _ in range(5)
    ]
    if variant == "near":
        rows[-1][1] = str(int(rows[-1][1]) + 1)
    elif variant == "other":
        rows = rows[:1] + rows[:0:-1]
    body = "\n".join(",".join(row) for row in rows) + "\n"
    if variant == "case":
        body = body.lower()
    elif variant == "blanks":
        body = body.replace("\n", "  \n")
    data = body.encode("utf-8")
    if variant == "bom":
        data = b"\xef\xbb\xbf" + data
    elif variant == "crlf":
        data = body.replace("\n", "\r\n").encode()
    elif variant == "undecodable":
        data += b"caf\xe9,1,x\n"
    path.write_bytes(data)
    return path


def write_workbook(path: Path, seed: int, variant: str, sheets: list[str], cells: dict[str, Any]) -> Path:
    """A workbook with `sheets`, a block of numbers and words, the given cell values, a frozen pane and
    conditional formats of the cellIs and expression kinds; CSV exports "<stem>-<sheet>.csv" beside it."""
    rng = random.Random(seed)
    book = openpyxl.Workbook()
    book.remove(book.active)
    for index, name in enumerate(sheets):
        sheet = book.create_sheet(name)
        sheet.append(["Name", "Amount", "Rate", "Note"])
        for row in range(2, 12):
            sheet.append([rng.choice(WORDS), rng.randint(1, 500), round(rng.random(), 6), rng.choice(WORDS)])
        for coordinate, value in cells.items():
            sheet[coordinate] = value
        sheet.freeze_panes = "B2"
        red = PatternFill(start_color="FFFF0000", end_color="FFFF0000", fill_type="solid")
        sheet.conditional_formatting.add(
            "B2:B11", CellIsRule(operator="greaterThan", formula=["250"], fill=red, font=Font(bold=True))
        )
        sheet.conditional_formatting.add("C2:C11", FormulaRule(formula=["C2>0.5"], fill=red))
        sheet.conditional_formatting.add(
            "D2:D11", FormulaRule(formula=['ISNUMBER(SEARCH("a",D2))'], font=Font(italic=True))
        )
        if index == 0:
            if variant == "near":
                sheet["B3"] = sheet["B3"].value + 0.00001
                sheet["A4"] = str(sheet["A4"].value).lower() + " "
            elif variant == "scrolled":
                sheet.freeze_panes = "B2"
                sheet.sheet_view.pane.topLeftCell = "B9"
            elif variant == "other":
                for row in range(2, 12):
                    sheet[f"B{row}"] = rng.randint(501, 900)
                sheet.freeze_panes = "C3"
            elif variant == "bold":
                sheet["A2"].font = Font(bold=True, name="Arial")
    book.save(path)
    stem = path.with_suffix("")
    for name in sheets:
        sheet = book[name]
        lines = [
            ",".join("" if c is None else str(c) for c in row) for row in sheet.iter_rows(values_only=True)
        ]
        data = ("\n".join(lines) + "\n").encode()
        if variant == "bom":
            data = b"\xef\xbb\xbf" + data
        elif variant == "crlf":
            data = data.replace(b"\n", b"\r\n")
        Path(f"{stem}-{name}.csv").write_bytes(data)
    return path


def write_presentation(path: Path, seed: int, variant: str) -> Path:
    """Slides with a title, a bulleted body, an empty text box and a table; variants change one
    property each: text, bold, position (inside or beyond 0.5 %), the empty box's size, the indent
    level 0↔1, an empty run in a blank paragraph, a slide more."""
    lines = text_lines(seed, 4)
    deck = Presentation()
    for number in range(2):
        slide = deck.slides.add_slide(deck.slide_layouts[1])
        slide.shapes.title.text = f"{lines[0]} {number}"
        body = slide.placeholders[1].text_frame
        body.text = lines[1]
        para = body.add_paragraph()
        para.text = lines[2]
        para.level = 1 if variant == "indent" and number == 0 else 0
        blank = body.add_paragraph()
        if variant == "empty_run" and number == 0:
            blank.add_run().text = ""
        box = slide.shapes.add_textbox(Emu(914400), Emu(4572000), Emu(1828800), Emu(457200))
        if variant == "empty_box" and number == 0:
            box.width = Emu(2828800)
        run = box.text_frame.paragraphs[0].add_run() if number == 1 else None
        if run is not None:
            run.text = lines[3]
            run.font.size = Pt(18)
            run.font.bold = variant == "bold"
        table = slide.shapes.add_table(2, 2, Emu(914400), Emu(5486400), Emu(3657600), Emu(731520)).table
        for i, cell in enumerate(c for row in table.rows for c in row.cells):
            cell.text = WORDS[(seed + i) % len(WORDS)]
        if number == 1 and variant == "near":
            slide.shapes.title.left = slide.shapes.title.left + 2000
        if number == 1 and variant == "moved":
            slide.shapes.title.left = slide.shapes.title.left + 400000
        if number == 1 and variant == "other":
            slide.shapes.title.text = lines[3]
    if variant == "more":
        deck.slides.add_slide(deck.slide_layouts[5]).shapes.title.text = "extra"
    deck.save(path)
    return path


def write_document(path: Path, seed: int, variant: str) -> Path:
    lines = text_lines(seed, 5)
    if variant == "near":
        lines[2] = lines[2] + " x"
    elif variant == "other":
        lines = text_lines(seed + 1000, 5)
    elif variant == "case":
        lines = [line.upper() for line in lines]
    elif variant == "order":
        lines = lines[::-1]
    elif variant == "blanks":
        lines = [lines[0], "", *lines[1:3], "   ", *lines[3:]]
    document = Document()
    for line in lines:
        document.add_paragraph(line)
    document.save(path)
    return path


def write_pdf(path: Path, seed: int, variant: str) -> Path:
    lines = text_lines(seed, 5)
    if variant == "near":
        lines[1] += " more"
    elif variant == "other":
        lines = text_lines(seed + 1000, 5)
    pdf = pymupdf.open()
    pages = 2 if variant != "one_page" else 1
    for page_number in range(pages):
        page = pdf.new_page()
        for i, line in enumerate(lines):
            page.insert_text((72, 72 + 20 * i), f"{line} {page_number}", fontsize=11)
    pdf.save(path)
    return path


def write_image(path: Path, seed: int, variant: str) -> Path:
    rng = random.Random(seed)
    width, height = (64, 48) if variant != "resized" else (80, 60)
    if variant == "tiny":
        width, height = 5, 5
    image = Image.new("RGB", (width, height))
    base = rng.randint(0, 120)
    pixels = [
        ((x * 3 + base) % 256, (y * 5) % 256, (x * y) % 256) for y in range(height) for x in range(width)
    ]
    if variant == "near":
        pixels[5] = (255, 255, 255)
    elif variant == "other":
        pixels = [(255 - r, g // 2, 0) for r, g, _ in pixels]
    image.putdata(pixels)
    image.save(path)
    return path
