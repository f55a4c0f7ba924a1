"""Hostile DOCX and HTML files (issue 17): what a file claims (spans, offsets, nesting,
pictures, references) is bounded, and a part that cannot be read is lost with a warning while
the report is read. Every file is built here; the costly ones run in a child whose address
space is capped, so a regression fails its test instead of taking the machine."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest
from PIL import Image

from extractors.document import Block, Document, Paragraph, Provenance
from extractors.errors import ReadError
from extractors.grid import MAX_SPAN, MAX_TABLE_CELLS, merge_cells
from extractors.readers import pictures, read
from extractors.readers.html import read_html

MEMORY_MB = 1536
BILLIONS = "2000000000"

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_IMAGE = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/image"
_RELS = '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">{}</Relationships>'


def docx(body: str, rels: str = "", media: dict[str, bytes] | None = None, macro: bool = False) -> bytes:
    """A minimal Word package around `body` (the XML inside w:body)."""
    main = ("application/vnd.ms-word.document.macroEnabled.main+xml" if macro else
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml")
    types = ('<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
             '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
             '<Default Extension="xml" ContentType="application/xml"/>'
             '<Default Extension="png" ContentType="image/png"/>'
             f'<Override PartName="/word/document.xml" ContentType="{main}"/></Types>')
    root_rels = _RELS.format('<Relationship Id="rId1" Target="word/document.xml" Type="http://schemas.'
                             'openxmlformats.org/officeDocument/2006/relationships/officeDocument"/>')
    document = (f'<w:document xmlns:w="{W}" xmlns:r="{R}" '
                'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main">'
                f'<w:body>{body}</w:body></w:document>')
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", types)
        zf.writestr("_rels/.rels", root_rels)
        zf.writestr("word/document.xml", document)
        zf.writestr("word/_rels/document.xml.rels", _RELS.format(rels))
        for name, data in (media or {}).items():
            zf.writestr(name, data, compress_type=zipfile.ZIP_STORED)
    return out.getvalue()


def p(text: str) -> str:
    return f"<w:p><w:r><w:t>{text}</w:t></w:r></w:p>"


def tc(text: str, props: str = "") -> str:
    return f"<w:tc><w:tcPr>{props}</w:tcPr>{p(text)}</w:tc>"


def tr(cells: str, props: str = "") -> str:
    return f"<w:tr><w:trPr>{props}</w:trPr>{cells}</w:tr>"


def picture(rid: str) -> str:
    return f'<w:p><w:r><w:drawing><a:blip r:embed="{rid}"/></w:drawing></w:r></w:p>'


def png(size: tuple[int, int] = (80, 80), color: int = 255) -> bytes:
    out = io.BytesIO()
    Image.new("L", size, color).save(out, "PNG")
    return out.getvalue()


def child(code: str, timeout: float = 60) -> dict:
    """`code` run in a fresh interpreter with its address space capped at MEMORY_MB; it sets
    `result`, which comes back with the child's seconds and peak resident memory."""
    script = textwrap.dedent("""\
        import json, resource, time
        resource.setrlimit(resource.RLIMIT_AS, ({limit}, {limit}))
        started = time.perf_counter()
        result = {{}}
        """).format(limit=MEMORY_MB << 20) + textwrap.dedent(code) + textwrap.dedent("""
        result["seconds"] = time.perf_counter() - started
        # VmHWM, not ru_maxrss: Linux carries the forking parent's peak (pytest's) into the latter
        result["peak_mb"] = int(open("/proc/self/status").read().split("VmHWM:")[1].split()[0]) / 1024
        print("RESULT", json.dumps(result))
        """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=timeout, cwd=Path(__file__).parent)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.rsplit("RESULT ", 1)[1])


def read_in_child(path: Path) -> dict:
    """`read(path)` in a capped child (see child): its tables' count, paragraphs, warnings."""
    return child(f"""
        from extractors.readers import read
        doc = read({str(path)!r})
        result["tables"] = len(doc.tables())
        result["text"] = [x.text for x in doc.paragraphs()]
        result["warnings"] = doc.warnings
        """, timeout=30)


# ---- spans and offsets -------------------------------------------------------------------

def test_docx_spans_and_offsets_of_two_billion_are_capped(tmp_path):
    """Each gridSpan of 2e9 cost ~55 s (a loop per claimed column); twenty are hours."""
    rows = "".join(tr(tc("a", f'<w:gridSpan w:val="{BILLIONS}"/>') + tc("b")) for _ in range(20))
    late = tr(tc("c"), f'<w:gridBefore w:val="{BILLIONS}"/><w:gridAfter w:val="{BILLIONS}"/>')
    path = tmp_path / "spans.docx"
    path.write_bytes(docx(f"<w:tbl>{rows}{late}</w:tbl>" + p("after")))
    got = child(f"""
        from extractors.readers import read
        doc = read({str(path)!r})
        [table] = doc.tables()
        result["cells"] = [(c.text, c.row, c.col, c.colspan) for row in table.rows for c in row]
        result["text"] = [x.text for x in doc.paragraphs()]
        """, timeout=30)
    assert got["cells"][:2] == [["a", 0, 0, MAX_SPAN], ["b", 0, MAX_SPAN, 1]]
    assert got["cells"][-1] == ["c", 20, MAX_SPAN, 1]
    assert got["text"] == ["after"]
    assert got["seconds"] < 10


def test_docx_vertical_merge_run_is_capped_and_goes_on_in_a_new_cell(tmp_path):
    rows = tr(tc("合并", '<w:vMerge w:val="restart"/>') + tc("0"))
    rows += "".join(tr(tc("", "<w:vMerge/>") + tc(str(r))) for r in range(1, 1500))
    path = tmp_path / "vmerge.docx"
    path.write_bytes(docx(f"<w:tbl>{rows}</w:tbl>"))
    [table] = read(path).tables()
    merged = [(c.row, c.col, c.rowspan) for row in table.rows for c in row if c.col == 0]
    assert merged == [(0, 0, MAX_SPAN), (MAX_SPAN, 0, 1500 - MAX_SPAN)]


def test_docx_table_claiming_more_cells_than_the_cap_is_read_as_text(tmp_path):
    rows = "".join(tr(tc(f"第{r}行", f'<w:gridSpan w:val="{BILLIONS}"/>')) for r in range(200))
    path = tmp_path / "wide.docx"
    path.write_bytes(docx(p("before") + f"<w:tbl>{rows}</w:tbl>" + p("after")))
    got = read_in_child(path)
    assert got["tables"] == 0
    assert got["text"] == ["before"] + [f"第{r}行" for r in range(200)] + ["after"]
    assert any("read as text" in w for w in got["warnings"])


def test_html_spans_growing_with_the_square_of_the_rows_keep_memory_bounded(tmp_path):
    """600 rows of <td rowspan=600 colspan=1000> (30 KB) took 7.5 GB: every covered grid
    position was a set entry. Past MAX_TABLE_CELLS the table is text."""
    path = tmp_path / "spans.html"
    path.write_text("<html><body><p>before</p><table>" + "<tr><td rowspan=600 colspan=1000>x</td></tr>" * 600
                    + "</table><p>after</p></body></html>", encoding="utf-8")
    got = read_in_child(path)
    assert got["tables"] == 0
    assert got["text"] == ["before"] + ["x"] * 600 + ["after"]
    assert any("read as text" in w for w in got["warnings"])
    assert got["peak_mb"] < 500


def test_html_table_at_the_cap_is_still_a_table(tmp_path):
    rows = MAX_TABLE_CELLS // MAX_SPAN
    path = tmp_path / "wide.html"
    path.write_text("<table>" + "<tr><td colspan=5000>1</td></tr>" * rows + "</table>", encoding="utf-8")
    [table] = read_html(path).tables()
    assert [c.colspan for row in table.rows for c in row] == [MAX_SPAN] * rows


def test_html_rowspans_push_cells_right_as_browsers_do(tmp_path):
    """The grid is laid out without building every position; the layout is the browsers'."""
    path = tmp_path / "t.html"
    path.write_text("<table><tr><td rowspan=2>a</td><td colspan=2>b</td><td rowspan=3>c</td></tr>"
                    "<tr><td>d</td><td>e</td></tr><tr><td colspan=3>f</td></tr></table>", encoding="utf-8")
    [table] = read_html(path).tables()
    assert [(c.text, c.row, c.col, c.rowspan, c.colspan) for row in table.rows for c in row] == [
        ("a", 0, 0, 2, 1), ("b", 0, 1, 1, 2), ("c", 0, 3, 3, 1), ("d", 1, 1, 1, 1), ("e", 1, 2, 1, 1),
        ("f", 2, 0, 1, 3)]


def test_a_ruled_grid_past_the_cap_is_not_built():
    side = int(MAX_TABLE_CELLS ** 0.5) + 1
    assert merge_cells(side, side, lambda r, c: True, lambda r, c: True) is None
    assert merge_cells(2, 2, lambda r, c: True, lambda r, c: True) is not None


# ---- the review app ----------------------------------------------------------------------

def test_review_page_of_a_field_beside_a_row_starting_two_billion_columns_in(tmp_path):
    """gridBefore=2e9 in a table holding a flagged field: extraction was fine, but opening
    the field in `nianbao review` built 2e9 empty cells (6 GB in 50 s)."""
    got = child(f"""
        import io, re, zipfile
        from pathlib import Path
        from fastapi.testclient import TestClient
        from extractors.pipeline import extract_file
        from extractors.synth import generate
        from flows import store
        from flows.review.app import Review, create_app
        from flows.review.queue import field_view, load_items
        from flows.review.source import open_source

        folder = Path({str(tmp_path)!r})
        row = ('<w:tr><w:trPr><w:gridBefore w:val="{BILLIONS}"/><w:gridAfter w:val="{BILLIONS}"/></w:trPr>'
               '<w:tc><w:p><w:r><w:t>注</w:t></w:r></w:p></w:tc></w:tr>')
        out = io.BytesIO()
        with zipfile.ZipFile(io.BytesIO(generate(9, "2021", "docx", errors=["R4"]).data)) as src, \\
                zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
            for name in src.namelist():
                data = src.read(name)
                if name == "word/document.xml":
                    data = data.replace(b"</w:tbl>", row.encode() + b"</w:tbl>")
                dst.writestr(name, data)
        path = folder / "hostile.docx"
        path.write_bytes(out.getvalue())
        engine = store.connect(store.database_url(None, folder))
        store.save_result(engine, extract_file(path), {{"raw_path": str(path)}},
                          store.start_run(engine, {{"command": "test"}}))
        engine.dispose()
        source = open_source(str(folder))
        items = load_items(source.engine)
        item = next(i for i in items if field_view(source.engine, i).field_provenance().method == "table")
        with TestClient(create_app(Review(source.engine, items, "tester", None), ["testserver"])) as client:
            page = client.get(f"/field/{{item.report_id}}/{{item.field}}")
        result["status"] = page.status_code
        result["hit"] = len(re.findall('class="hit"', page.text))
        result["note_row"] = ">注<" in page.text
        """, timeout=60)
    assert got["status"] == 200
    assert got["hit"] == 1 and got["note_row"]  # the table, with the hostile row, cell marked
    assert got["peak_mb"] < 1000


def test_evidence_draws_no_grid_past_the_cap_whatever_made_the_table(tmp_path):
    """The review app's own guard, not the readers': a table whose cell sits 2e9 columns in
    is shown as the printed text."""
    path = tmp_path / "r.html"
    path.write_text("<p>x</p>", encoding="utf-8")
    got = child(f"""
        from extractors.document import Cell, Document, DocumentBuilder
        from extractors.result import FieldProvenance
        from flows.review import evidence

        builder = DocumentBuilder({str(path)!r}, "html")
        builder.table([[Cell(text="（一）予以公开", row=0, col=0), Cell(text="5", row=0, col={BILLIONS})]])
        evidence.read_native = lambda path: (builder.doc, lambda name: None)
        prov = FieldProvenance(method="table", table="t0", row=0, col={BILLIONS}, raw="5")
        shown = evidence.evidence({str(path)!r}, prov)
        result["kind"], result["text"] = shown.kind, shown.text
        """, timeout=30)
    assert (got["kind"], got["text"]) == ("text", "5")


# ---- nesting -----------------------------------------------------------------------------

NESTED_DOCX = {
    # name: (opening, closing, times, suffix); each file nests past MAX_DEPTH, within the
    # parser's 2048 levels
    "hyperlinks": ("<w:hyperlink>", "</w:hyperlink>", 1500, ".docm"),
    "content controls": ("<w:sdt><w:sdtContent>", "</w:sdtContent></w:sdt>", 700, ".docx"),
    "text boxes": ("<w:r><w:txbxContent><w:p>", "</w:p></w:txbxContent></w:r>", 500, ".docx"),
    "tables": ("<w:tbl><w:tr><w:tc>", f"{p('cell')}</w:tc></w:tr></w:tbl>", 500, ".docx"),
}


@pytest.mark.parametrize("kind", NESTED_DOCX)
def test_docx_nesting_past_the_depth_cap_is_read_as_text(tmp_path, kind):
    opening, closing, times, suffix = NESTED_DOCX[kind]
    inner = "<w:r><w:t>最深处</w:t></w:r>" if kind in ("hyperlinks", "text boxes") else p("最深处")
    body = opening * times + inner + closing * times
    if kind in ("hyperlinks", "text boxes"):
        body = f"<w:p>{body}</w:p>"
    path = tmp_path / f"nested{suffix}"
    path.write_bytes(docx(p("before") + body + p("after"), macro=suffix == ".docm"))
    doc = read(path)
    text = [b.paragraph.text for b in doc.blocks if b.paragraph] + \
        [c.text for t in doc.tables() for row in t.rows for c in row]
    assert "before" in text and "after" in text
    assert any("最深处" in t for t in text)
    assert any("levels deep read as plain text" in w for w in doc.warnings)


def test_docx_nesting_past_what_the_parser_reads_is_corrupt_not_a_crash(tmp_path):
    path = tmp_path / "deeper.docx"
    path.write_bytes(docx("<w:p>" + "<w:hyperlink>" * 3000 + "</w:hyperlink>" * 3000 + "</w:p>"))
    with pytest.raises(ReadError) as err:
        read(path)
    assert err.value.code == "corrupt"


@pytest.mark.parametrize("opening,closing,times", [
    ("<span>", "</span>", 1000), ("<div>", "</div>", 1500),
    ("<table><tr><td>a</td><td>b</td><td>", "</td></tr></table>", 500)])
def test_html_nesting_past_the_depth_cap_is_read_as_text(tmp_path, opening, closing, times):
    """libxml2 stopped at 256 levels and dropped the rest of the page without a word."""
    path = tmp_path / "nested.html"
    path.write_text(f"<html><body><p>before</p>{opening * times}最深处{closing * times}<p>after</p></body></html>",
                    encoding="utf-8")
    doc = read_html(path)
    text = [x.text for x in doc.paragraphs()]
    assert text[0] == "before" and text[-1] == "after"
    assert any("最深处" in t for t in text)
    assert any("levels deep read as plain text" in w for w in doc.warnings)


def test_html_nesting_past_what_the_parser_reads_says_what_is_lost(tmp_path):
    path = tmp_path / "deeper.html"
    path.write_text("<html><body><p>before</p>" + "<div>" * 3000 + "x" + "</div>" * 3000 + "<p>after</p>",
                    encoding="utf-8")
    doc = read_html(path)
    assert [x.text for x in doc.paragraphs()][0] == "before"
    assert any("past the parser's limit" in w for w in doc.warnings)


# ---- pictures ----------------------------------------------------------------------------

def test_docx_dangling_and_out_of_package_pictures_are_skipped_and_the_report_read(tmp_path):
    rels = (f'<Relationship Id="rId5" Type="{_IMAGE}" Target="media/missing.png"/>'
            f'<Relationship Id="rId6" Type="{_IMAGE}" Target="../../../../etc/passwd"/>'
            f'<Relationship Id="rId7" Type="{_IMAGE}" Target="media/image1.png"/>')
    path = tmp_path / "refs.docx"
    path.write_bytes(docx(p("before") + picture("rId5") + picture("rId6") + picture("rId7") + p("after"),
                          rels, {"word/media/image1.png": png()}))
    from extractors.readers.docx import read_docx_native

    doc, load = read_docx_native(path)
    assert [b.paragraph.text if b.paragraph else b.image.name for b in doc.blocks] == [
        "before", None, None, "/word/media/image1.png", "after"]
    assert load("/word/media/image1.png") == png()
    assert sum("points to nothing in the package" in w for w in doc.warnings) == 2


def test_docx_damaged_picture_is_skipped_and_the_report_read(tmp_path):
    data = bytearray(docx(p("before") + picture("rId7") + p("after"),
                          f'<Relationship Id="rId7" Type="{_IMAGE}" Target="media/image1.png"/>',
                          {"word/media/image1.png": png()}))
    at = data.find(b"IDAT")  # inside the stored picture: its CRC no longer matches
    data[at + 10] ^= 0xFF
    path = tmp_path / "damaged.docx"
    path.write_bytes(bytes(data))
    doc = read(path)
    assert [x.text for x in doc.paragraphs()] == ["before", "after"]
    assert any("damaged" in w for w in doc.warnings)


# Text enough that the pictures are not the report (a scan), so each picture is tested for a table.
TEXT = "<p>" + "正文" * 150 + "</p>"


class _FakeOcr:
    """OCR made cheap and counted: every picture holds a table, each read gives one paragraph."""

    def __init__(self, monkeypatch):
        self.looked_at = 0
        self.read_pages: list[int] = []
        import extractors.ocr as ocr
        import extractors.readers.pdf as pdf

        monkeypatch.setattr(ocr, "reader_engine", lambda: object())
        monkeypatch.setattr(ocr, "holds_table", self.holds_table)
        monkeypatch.setattr(pdf, "read_pages", self.read)

    def holds_table(self, page) -> bool:
        self.looked_at += 1
        return True

    def read(self, pdf, path: str, fmt: str) -> Document:
        self.read_pages.append(pdf.page_count)
        return Document(path=path, format=fmt, blocks=[
            Block(paragraph=Paragraph(text="表格", prov=Provenance(page=1, source="ocr")))])


@pytest.mark.parametrize("between", ["<p>正文</p>", ""])
def test_html_picture_shown_400_times_is_read_once(tmp_path, monkeypatch, between):
    """Each time was an OCR run (killed after 300 s); the same bytes by another name too."""
    ocr = _FakeOcr(monkeypatch)
    (tmp_path / "t.png").write_bytes(png())
    (tmp_path / "copy.png").write_bytes(png())
    path = tmp_path / "page.html"
    path.write_text(f"<html><body>{TEXT}" + f'{between}<img src="t.png">' * 399 + f'{between}<img src="copy.png">'
                    + "</body></html>", encoding="utf-8")
    doc = read_html(path)
    assert (ocr.looked_at, ocr.read_pages) == (1, [1])
    assert [b.paragraph.text for b in doc.blocks if b.paragraph and b.paragraph.text == "表格"] == ["表格"]
    assert not any(b.image for b in doc.blocks)  # repeats of a picture read are not left as pictures


def test_pictures_past_the_cap_are_left_unread_with_a_warning(tmp_path, monkeypatch):
    ocr = _FakeOcr(monkeypatch)
    monkeypatch.setattr(pictures, "MAX_PICTURE_PAGES", 5)
    for k in range(12):
        (tmp_path / f"t{k}.png").write_bytes(png(color=k))
    path = tmp_path / "page.html"
    path.write_text(f"<html><body>{TEXT}" + "".join(f'<p>正文</p><img src="t{k}.png">' for k in range(12))
                    + "</body></html>", encoding="utf-8")
    doc = read_html(path)
    assert ocr.looked_at == 5 and sum(ocr.read_pages) == 5
    assert sum(1 for b in doc.blocks if b.image) == 7
    assert any("not read" in w for w in doc.warnings)


def test_a_picture_in_a_format_outside_the_raster_list_is_not_opened():
    # EPS would be rendered by running Ghostscript on the file's PostScript
    from extractors.errors import ReadError

    eps = b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\nshowpage\n"
    with pytest.raises(ReadError) as err:
        pictures.picture_pages(eps, "x.eps")
    assert err.value.code == "corrupt"
    assert pictures.picture_pages(png(), "x.png").page_count == 1
