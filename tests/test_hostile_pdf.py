"""Hostile PDFs from portals (issue 17): a file may claim anything, and the reader must stay
within bounds and keep what it can. Each file is built here; the ones that used to take
gigabytes are read in a child process under an address-space limit, so a regression fails
its test instead of the machine."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pymupdf

from extractors.ocr import table_grid
from extractors.readers import pdf as pdf_reader
from extractors.readers.pdf import read_pdf
from extractors.synth import generate

REPO = Path(__file__).resolve().parents[1]
MEMORY_LIMIT = 1536 * 1024 * 1024  # address space of the child that reads the file
TIME_LIMIT = 20  # seconds


# ---- the files ------------------------------------------------------------------------------

def pdf_claiming(count: int, texts: list[str]) -> bytes:
    """A PDF whose page tree claims `count` pages over one real page per text (Helvetica,
    ASCII), with a correct xref table and trailer."""
    n = len(texts)
    font = 3 + 2 * n
    kids = " ".join(f"{3 + 2 * k} 0 R" for k in range(n))
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>",
               f"<< /Type /Pages /Count {count} /Kids [{kids}] >>".encode()]
    for k, text in enumerate(texts):
        objects.append(f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents {4 + 2 * k} 0 R "
                       f"/Resources << /Font << /F1 {font} 0 R >> >> >>".encode())
        content = f"BT /F1 12 Tf 72 700 Td ({text}) Tj ET".encode()
        objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content))
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    return _with_xref(objects)


def _with_xref(objects: list[bytes]) -> bytes:
    """A PDF of these objects, numbered from 1 (the catalog first), with a correct xref."""
    out = bytearray(b"%PDF-1.7\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


ABOVE_GRID = "Text above the grid stays text"


def ruled_grid_pdf(lines: int, pitch: float = 5.0) -> bytes:
    """One page holding a grid of `lines` × `lines` ruling lines `pitch` points apart (far
    enough apart to stay separate lines), a line of text above it and a word in one cell."""
    margin = 72.0
    side = margin * 2 + (lines - 1) * pitch
    pdf = pymupdf.open()
    page = pdf.new_page(width=side, height=side)
    shape = page.new_shape()
    lo, hi = margin, margin + (lines - 1) * pitch
    for k in range(lines):
        at = margin + k * pitch
        shape.draw_line((lo, at), (hi, at))
        shape.draw_line((at, lo), (at, hi))
    shape.finish(color=(0, 0, 0), width=0.3)
    shape.commit()
    page.insert_text((margin, margin - 20), ABOVE_GRID, fontsize=12)
    page.insert_text((margin + 0.5, margin + pitch - 1), "cell", fontsize=3)
    return pdf.tobytes(garbage=1, deflate=True)


def with_huge_page(report: bytes, side: float = 14400.0) -> bytes:
    """The report with one more page, `side` points square, that holds only a picture: a page
    OCR would have to render at 200 dpi."""
    pdf = pymupdf.open(stream=report, filetype="pdf")
    page = pdf.new_page(width=side, height=side)
    pix = pymupdf.Pixmap(pymupdf.csGRAY, pymupdf.IRect(0, 0, 40, 40), False)
    pix.set_rect(pix.irect, (200,))
    page.insert_image(page.rect, pixmap=pix)
    return pdf.tobytes()


# ---- reading in a child process, under limits ------------------------------------------------

_CHILD = """
import json, resource, sys, time
resource.setrlimit(resource.RLIMIT_AS, ({limit}, {limit}))
from extractors.errors import ReadError
from extractors.readers.pdf import read_pdf
if sys.argv[2:] == ["no-reading-ocr"]:
    import extractors.ocr
    from test_hostile_pdf import NoReading
    extractors.ocr.reader_engine = NoReading
start = time.perf_counter()
try:
    doc = read_pdf(sys.argv[1])
    out = {{"pages": doc.pages, "paragraphs": [p.text for p in doc.paragraphs()],
           "tables": [t.row_texts() for t in doc.tables()], "warnings": doc.warnings,
           "ocr_pages": doc.ocr_pages}}
except ReadError as err:
    out = {{"error": err.code, "message": str(err)}}
out["seconds"] = time.perf_counter() - start
# VmHWM, not ru_maxrss: Linux carries the forking parent's peak (pytest's) into the latter
out["max_rss_mb"] = int(open("/proc/self/status").read().split("VmHWM:")[1].split()[0]) / 1024
print(json.dumps(out))
"""


def read_in_child(path: Path, ocr: str = "off", limit: int = MEMORY_LIMIT) -> dict:
    """read_pdf(path) in a fresh interpreter limited to `limit` bytes of address space and
    TIME_LIMIT seconds, with OCR off or ("no-reading-ocr") an engine that reads nothing;
    what it read (or its ReadError), with its time and peak memory."""
    env = dict(os.environ, PYTHONPATH=f"{REPO}{os.pathsep}{REPO / 'tests'}")
    if ocr == "off":
        env["NIANBAO_OCR"] = "off"
    else:
        env.pop("NIANBAO_OCR", None)
    proc = subprocess.run([sys.executable, "-c", _CHILD.format(limit=limit), str(path), ocr], cwd=REPO,
                          capture_output=True, text=True, timeout=TIME_LIMIT, env=env)
    assert proc.returncode == 0, f"exit {proc.returncode}: {proc.stderr[-3000:]}"
    return json.loads(proc.stdout.splitlines()[-1])


class NoReading:
    """An OCR engine that finds no text: takes a page through OCR's own steps (render, turn,
    level, rules and grids) at no model's cost."""
    name = "no-reading"

    def detect(self, image, max_side=0):
        return []

    def read_lines(self, crops, charset=None):
        return [("", 0.0) for _ in crops]

    def recognize(self, image):
        return []


# ---- page counts ----------------------------------------------------------------------------

def test_page_tree_claiming_2_31_pages_reads_its_one_page_in_bounded_memory(tmp_path):
    # was: MuPDF sized its page maps by /Count (24 GB, sorted whole: the worker grew to 22 GB
    # and was killed); under a limit, the loop then ran on over 2³¹ page numbers
    path = tmp_path / "claims.pdf"
    path.write_bytes(pdf_claiming(2**31 - 1, ["Only page"]))
    read = read_in_child(path)
    assert read["pages"] == 1 and read["paragraphs"] == ["Only page"]
    assert read["warnings"] == ["the page tree's /Count is 2147483647, the pages found in it 1"]


def test_page_tree_claiming_a_million_pages_over_two_reads_both(tmp_path):
    # was: an `internal` error (ValueError from load_page past the pages MuPDF found)
    path = tmp_path / "claims.pdf"
    path.write_bytes(pdf_claiming(1_000_000, ["First page", "Second page"]))
    doc = read_pdf(path)
    assert doc.pages == 2
    text = " ".join(p.text for p in doc.paragraphs())
    assert "First page" in text and "Second page" in text
    assert doc.warnings == ["the page tree's /Count is 1000000, the pages found in it 2"]


def test_count_smaller_than_the_pages_held_hides_none(tmp_path):
    path = tmp_path / "small.pdf"
    path.write_bytes(pdf_claiming(1, ["One", "Two", "Three"]))
    doc = read_pdf(path)
    # was: MuPDF went by /Count and read one page
    assert doc.pages == 3
    assert " ".join(p.text for p in doc.paragraphs()) == "One Two Three"
    assert doc.warnings == ["the page tree's /Count is 1, the pages found in it 3"]


def test_a_cycle_or_a_repeated_kid_in_the_page_tree_counts_each_page_once(tmp_path):
    path = tmp_path / "cycle.pdf"
    # the root among its own kids, and the first page listed twice
    path.write_bytes(pdf_claiming(4, ["One", "Two"]).replace(b"/Kids [3 0 R 5 0 R]",
                                                           b"/Kids [3 0 R 2 0 R 5 0 R 3 0 R]"))
    doc = read_pdf(path)
    assert doc.pages == 2
    assert " ".join(p.text for p in doc.paragraphs()) == "One Two"


def test_a_page_tree_too_deep_for_mupdf_is_a_clear_error_not_a_crash(tmp_path):
    # 100 000 nested /Pages nodes over one page: MuPDF's own walk of the tree overflows the
    # C stack (a segfault takes the worker with it); ours stops after MAX_TREE_NODES objects
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>"]
    depth = 100_000
    objects += [b"<< /Type /Pages /Count 1 /Kids [%d 0 R] >>" % (n + 1) for n in range(2, depth + 2)]
    path = tmp_path / "deep.pdf"
    path.write_bytes(_with_xref(objects + [b"<< /Type /Page /MediaBox [0 0 595 842] >>"]))
    read = read_in_child(path)
    assert read["error"] == "corrupt"
    assert "no pages" in read["message"] and f"more than {pdf_reader.MAX_TREE_NODES} objects" in read["message"]


def test_pages_past_the_cap_are_not_read_and_the_document_says_so(tmp_path, monkeypatch):
    monkeypatch.setattr(pdf_reader, "MAX_PAGES", 3)
    monkeypatch.setattr(pdf_reader, "MAX_TREE_NODES", 12)
    path = tmp_path / "five.pdf"
    path.write_bytes(pdf_claiming(5, ["One", "Two", "Three", "Four", "Five"]))
    doc = read_pdf(path)
    assert doc.pages == 3
    text = " ".join(p.text for p in doc.paragraphs())
    assert "Three" in text and "Four" not in text
    assert doc.warnings == ["more than 3 pages: pages after 3 not read"]


# ---- ruled grids ----------------------------------------------------------------------------

def test_grid_of_2000_by_2000_rules_keeps_the_page_text_in_bounded_memory(tmp_path):
    # was: 9.2 GB and 100 s for this 21 KB file (1000×1000: 2.3 GB, 21 s)
    path = tmp_path / "grid.pdf"
    path.write_bytes(ruled_grid_pdf(2000))
    read = read_in_child(path)
    assert read["tables"] == []
    assert read["paragraphs"] == [ABOVE_GRID, "cell"]
    assert read["warnings"] == [f"page 1: 4000 ruling lines, over the {pdf_reader.MAX_RULES} a page may "
                                "have: no table read on it, its text read as paragraphs"]


def test_grid_of_more_cells_than_the_cap_is_read_as_text(tmp_path):
    path = tmp_path / "grid.pdf"
    path.write_bytes(ruled_grid_pdf(300))  # 598 rules, under MAX_RULES; 299×299 cells
    doc = read_pdf(path)
    assert doc.tables() == []
    assert [p.text for p in doc.paragraphs()] == [ABOVE_GRID, "cell"]
    assert doc.warnings == [f"page 1: a ruled grid of 299×299 cells, over the {pdf_reader.MAX_GRID_CELLS}"
                            "-cell limit: not read as a table, its text read as paragraphs"]


def graph_paper(side: int, pitch: int) -> np.ndarray:
    """A white grayscale image ruled every `pitch` pixels both ways, 2 px lines."""
    image = np.full((side, side), 255, np.uint8)
    for at in range(10, side - 10, pitch):
        image[at:at + 2, 10:side - 10] = 0
        image[10:side - 10, at:at + 2] = 0
    return image


def test_ocr_grid_of_more_cells_than_the_cap_is_no_table():
    ink = 255 - graph_paper(2400, 10)
    notes: list[str] = []
    assert table_grid.find_tables(table_grid.find_rules(ink, 200), 200, notes) == []
    [note] = notes
    assert note.startswith("a ruled grid of 237×237 cells, over the 50000-cell limit")
    # a grid under the cap is still a table
    [table] = table_grid.find_tables(table_grid.find_rules(255 - graph_paper(600, 40), 200), 200)
    assert len(table.cells) == 14 * 14


def test_scanned_page_with_an_oversized_grid_says_so_in_the_document(tmp_path):
    side = 2339  # 842 pt at 200 dpi: rendered pixel for pixel
    ok, png = cv2.imencode(".png", graph_paper(side, 10))
    pdf = pymupdf.open()
    page = pdf.new_page(width=842, height=842)
    page.insert_image(page.rect, stream=png.tobytes())
    path = tmp_path / "scan.pdf"
    pdf.save(path)
    read = read_in_child(path, ocr="no-reading-ocr")
    assert read["tables"] == [] and read["ocr_pages"] == [1]
    [note] = read["warnings"]
    assert note.startswith("page 1: a ruled grid of") and "over the 50000-cell limit" in note


# ---- a page too large ------------------------------------------------------------------------

def test_report_with_a_14400_pt_page_is_read_without_that_page(tmp_path):
    # was: the whole report `too_large` (the page is 40 000 × 40 000 pixels at 200 dpi)
    report = tmp_path / "report.pdf"
    report.write_bytes(generate(1, "2019", "pdf").data)
    path = tmp_path / "huge.pdf"
    path.write_bytes(with_huge_page(report.read_bytes()))
    read = read_in_child(path, ocr="no-reading-ocr")
    alone = read_pdf(report)
    assert read["pages"] == 4 and read["ocr_pages"] == [4]
    assert read["tables"] == [t.row_texts() for t in alone.tables()]
    assert read["paragraphs"] == [p.text for p in alone.paragraphs()]
    [note] = read["warnings"]
    assert note.startswith("page 4 at 200 dpi: 40000×40000 pixels is over the") and note.endswith("left unread")


def test_a_part_left_out_reaches_the_result_and_the_review_reasons(tmp_path, monkeypatch):
    from extractors.pipeline import extract_file

    monkeypatch.setattr(pdf_reader, "MAX_PAGES", 1)
    path = tmp_path / "report.pdf"
    path.write_bytes(generate(1, "2019", "pdf").data)
    result = extract_file(path)
    assert result.status == "ok" and len(result.warnings) == 1 and "page" in result.warnings[0]
    lost = [i for i in result.review if result.provenance[i.field].method == "absent"]
    assert lost, "the later pages' tables were left out: their fields are not found"
    assert all(result.warnings[0] in i.reason and "left part of the file out" in i.reason for i in lost)
    assert json.loads(result.model_dump_json())["warnings"] == result.warnings


def test_the_ocr_readers_notes_on_a_picture_reach_the_document(tmp_path, monkeypatch):
    # What the OCR reader leaves out of a picture in an HTML/DOCX file is said in the
    # document, named by the picture (its page numbers count the pictures, not the file's).
    import base64

    import extractors.ocr
    from extractors.readers.html import read_html

    monkeypatch.setattr(extractors.ocr, "reader_engine", NoReading)
    read_pages = pdf_reader.read_pages

    def noting(pdf, path, fmt):
        doc = read_pages(pdf, path, fmt)
        doc.warnings.append("page 1: a ruled grid of 300×300 cells, over the limit")
        return doc

    monkeypatch.setattr(pdf_reader, "read_pages", noting)
    ok, png = cv2.imencode(".png", graph_paper(1200, 40))
    src = "data:image/png;base64," + base64.b64encode(png.tobytes()).decode()
    path = tmp_path / "scan.html"
    path.write_text(f"<html><body><p>年度报告</p><img src='{src}'></body></html>", encoding="utf-8")
    assert read_html(path).warnings == ["inline-image-1: page 1: a ruled grid of 300×300 cells, over the limit"]


def test_review_evidence_of_a_pdf_whose_page_tree_lies_is_drawn_in_bounded_memory(tmp_path):
    # The review app opens the PDF as the reader does: MuPDF alone would build page maps of
    # 24 GB for a /Count of 2³¹ at the first page it is asked for.
    path = tmp_path / "count.pdf"
    path.write_bytes(pdf_claiming(2**31 - 1, ["one real page"]))
    code = f"""
import resource, sys
resource.setrlimit(resource.RLIMIT_AS, ({MEMORY_LIMIT}, {MEMORY_LIMIT}))
from extractors.result import FieldProvenance
from flows.review.evidence import cell_image
png = cell_image({str(path)!r}, FieldProvenance(method="table", page=1, bbox=(72, 130, 200, 145)))
print(len(png or b""))
"""
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True,
                          timeout=TIME_LIMIT)
    assert done.returncode == 0, done.stderr[-2000:]
    assert int(done.stdout.split()[-1]) > 0
