"""The PDF reader on PDFs drawn here with PyMuPDF (ruled 三 table over a page break, CJK
text, running heads) and on one LibreOffice export committed under tests/fixtures/."""

from __future__ import annotations

from pathlib import Path

import pymupdf
import pytest

from extractors.document import Document, Table
from extractors.errors import ReadError
from extractors.readers.pdf import read_pdf

FIXTURES = Path(__file__).parent / "fixtures"
FONT = "china-s"
W, H = 595, 842
LEFT, RIGHT = 72, 523
SIZE = 12        # body text
CELL_SIZE = 9    # table text
RUNNING_HEAD = "某某市人民政府2020年政府信息公开工作年度报告"
PROSE = ("2020年，某某市人民政府坚持以习近平新时代中国特色社会主义思想为指导，深入贯彻落实国务院关于"
         "政务公开工作要点的各项要求，积极作为、勇于担当，全市政务公开工作水平显著提升，以公开促落实、"
         "促规范、促服务的工作格局全面形成，公开透明的政府形象更加彰显。")
PROSE_AFTER = ("本年度未发生因政府信息公开引起的行政复议、行政诉讼案件。下一步将继续加强政策解读和回应关切，"
               "不断提升政府信息公开工作的质量和实效，切实保障人民群众的知情权、参与权和监督权。")

# Column lines of the 三 table: three label columns, then 自然人 … 其他 and 总计.
XS = [LEFT, LEFT + 40, LEFT + 100, LEFT + 250] + [round(LEFT + 250 + 201 / 7 * k, 2)
                                                   for k in range(1, 8)]
APPLICANTS = ["自然人", "商业企业", "科研机构", "社会公益组织", "法律服务机构", "其他", "总计"]
DENIED = ["1.属于国家秘密", "2.其他法律行政法规禁止公开", "3.危及“三安全一稳定”", "4.保护第三方合法权益",
          "5.属于三类内部事务信息", "6.属于四类过程性信息", "7.属于行政执法案卷", "8.属于行政查询事项"]
UNABLE = ["1.本机关不掌握相关政府信息", "2.没有现成信息需要另行制作", "3.补正后申请内容仍不明确"]
REJECTED = ["1.信访举报投诉类申请", "2.重复申请", "3.要求提供公开出版物", "4.无正当理由大量反复申请",
            "5.要求行政机关确认或重新出具已获取信息"]


def _value(r: int, c: int) -> str:
    # Row 13 (8.属于行政查询事项) is left blank, as reports often do.
    return "" if r == 13 else str((r * 3 + c) % 10)


def table3_cells() -> list[tuple[int, int, int, int, str]]:
    """(row, col, rowspan, colspan, text) of the 2019 三 table, 25 rows × 10 columns."""
    cells = [(0, 0, 2, 3, "（本列数据的勾稽关系为：第一项加第二项之和，等于第三项加第四项之和）"),
             (0, 3, 1, 7, "申请人情况")]
    cells += [(1, 3 + k, 1, 1, name) for k, name in enumerate(APPLICANTS)]
    labels = [(2, 0, 1, 3, "一、本年新收政府信息公开申请数量"), (3, 0, 1, 3, "二、上年结转政府信息公开申请数量"),
              (4, 0, 20, 1, "三、本年度办理结果"), (4, 1, 1, 2, "（一）予以公开"),
              (5, 1, 1, 2, "（二）部分公开（区分处理的，只计这一情形，不计其他情形）"),
              (6, 1, 8, 1, "（三）不予公开"), (14, 1, 3, 1, "（四）无法提供"), (17, 1, 5, 1, "（五）不予处理"),
              (22, 1, 1, 2, "（六）其他处理"), (23, 1, 1, 2, "（七）总计"), (24, 0, 1, 3, "四、结转下年度继续办理")]
    labels += [(6 + k, 2, 1, 1, t) for k, t in enumerate(DENIED)]
    labels += [(14 + k, 2, 1, 1, t) for k, t in enumerate(UNABLE)]
    labels += [(17 + k, 2, 1, 1, t) for k, t in enumerate(REJECTED)]
    cells += labels
    cells += [(r, c, 1, 1, _value(r, c)) for r in range(2, 25) for c in range(3, 10)]
    return cells


ROW_H = [18, 30] + [16] * 3 + [26] + [16] * 19


def _wrap(text: str, per_line: int) -> list[str]:
    return [text[i:i + per_line] for i in range(0, len(text), per_line)] or [""]


def put_text(page: pymupdf.Page, x: float, y: float, text: str, size: float) -> None:
    page.insert_text((x, y + size), text, fontname=FONT, fontsize=size)


def write_paragraph(page: pymupdf.Page, y: float, text: str, indent: bool = True) -> float:
    """Lay out `text` like Word: first line indented two characters, justified lines, no
    extra space between paragraphs. Returns the y below it."""
    per_line = int((RIGHT - LEFT) // SIZE)
    first = per_line - 2 if indent else per_line
    lines = [text[:first]] + _wrap(text[first:], per_line) if len(text) > first else [text]
    for k, line in enumerate(lines):
        put_text(page, LEFT + (2 * SIZE if indent and k == 0 else 0), y, line, SIZE)
        y += SIZE * 1.5
    return y


def two_pages(pdf: pymupdf.Document) -> tuple[pymupdf.Page, pymupdf.Page]:
    pdf.new_page(width=W, height=H)
    pdf.new_page(width=W, height=H)
    return pdf[0], pdf[1]  # fetched after both exist: adding a page orphans earlier handles


def running_heads(page: pymupdf.Page, number: int) -> None:
    put_text(page, 180, 30, RUNNING_HEAD, 9)
    put_text(page, W / 2 - 10, H - 40, f"- {number} -", 9)


def draw_rule(page: pymupdf.Page, a: tuple, b: tuple, style: str) -> None:
    if style == "lines":
        page.draw_line(a, b, color=(0, 0, 0), width=0.5)
    else:  # Word's way: each border a hairline filled rectangle
        rect = pymupdf.Rect(a[0] - 0.25, a[1] - 0.25, b[0] + 0.25, b[1] + 0.25)
        page.draw_rect(rect, color=None, fill=(0, 0, 0))


def draw_table(parts: list[tuple[pymupdf.Page, float, list[int]]], cells, row_h, style="lines") -> None:
    """Draw `cells` over several pages: each part is (page, top y, grid rows on that page).
    A cell cut by a page break is closed on both sides of it, its text in its first part."""
    for page, top, rows in parts:
        y_of = {}
        y = top
        for r in rows:
            y_of[r] = y
            y += row_h[r]
        for r, c, rs, cs, text in cells:
            on_page = [k for k in range(r, r + rs) if k in y_of]
            if not on_page:
                continue
            x0, x1 = XS[c], XS[c + cs]
            y0, y1 = y_of[on_page[0]], y_of[on_page[-1]] + row_h[on_page[-1]]
            for a, b in (((x0, y0), (x1, y0)), ((x0, y1), (x1, y1)),
                         ((x0, y0), (x0, y1)), ((x1, y0), (x1, y1))):
                draw_rule(page, a, b, style)
            if on_page[0] == r:
                per_line = max(1, int((x1 - x0 - 4) // CELL_SIZE))
                for k, line in enumerate(_wrap(text, per_line)):
                    put_text(page, x0 + 2, y0 + 2 + k * (CELL_SIZE + 1), line, CELL_SIZE)


def small_table(label: str) -> list[tuple]:
    """2 rows × 10 columns on the 三 table's column lines: labels, then numbers."""
    return [(r, c, 1, 1, f"{label}{r}{c}" if c < 3 else str(r * 10 + c))
            for r in range(2) for c in range(10)]


def make_report(path: Path, *, style: str = "lines", repeat_header: bool = False,
                break_before: int = 10) -> Path:
    """Two pages: prose, heading, the 三 table cut after row `break_before - 1`, then a heading
    and prose on page 2. Running head and page number on both pages."""
    pdf = pymupdf.open()
    p1, p2 = two_pages(pdf)
    running_heads(p1, 1)
    running_heads(p2, 2)
    put_text(p1, 150, 80, "某某市人民政府2020年政府信息公开工作年度报告", 16)
    y = write_paragraph(p1, 120, "一、总体情况")
    y = write_paragraph(p1, y, PROSE)
    y = write_paragraph(p1, y, PROSE)
    write_paragraph(p1, y, "三、收到和处理政府信息公开申请情况")
    cells = table3_cells()
    first = list(range(break_before))
    rest = ([0, 1] if repeat_header else []) + list(range(break_before, 25))
    top1 = H - 72 - sum(ROW_H[r] for r in first)  # the table runs to the bottom margin
    draw_table([(p1, top1, first), (p2, 72, rest)], cells, ROW_H, style)
    y = 72 + sum(ROW_H[r] for r in rest) + 20
    y = write_paragraph(p2, y, "四、政府信息公开行政复议、行政诉讼情况")
    write_paragraph(p2, y, PROSE_AFTER)
    pdf.save(path)
    return path


def texts(table: Table) -> dict[tuple[int, int], str]:
    return {(c.row, c.col): c.text for row in table.rows for c in row}


def cell_at(table: Table, row: int, col: int):
    return next(c for r in table.rows for c in r if (c.row, c.col) == (row, col))


def kinds(doc: Document) -> list[str]:
    return ["T" if b.table else "P" for b in doc.blocks]


# ---- the fixture itself ----------------------------------------------------------------

def test_fixture_pdf_has_a_chinese_text_layer(tmp_path):
    path = make_report(tmp_path / "r.pdf")
    with pymupdf.open(path) as pdf:
        text = pdf[0].get_text()
    assert "三、本年" in text and "（三）不予公" in text and "申请人情况" in text


# ---- tables -----------------------------------------------------------------------------

def test_table_continued_on_next_page_is_joined(tmp_path):
    doc = read_pdf(make_report(tmp_path / "r.pdf"))
    assert doc.format == "pdf" and doc.pages == 2
    [table] = doc.tables()
    assert len(table.rows) == 25
    t = texts(table)
    assert t[(2, 0)] == "一、本年新收政府信息公开申请数量"
    assert t[(9, 2)] == "4.保护第三方合法权益"       # last row on page 1
    assert t[(10, 2)] == "5.属于三类内部事务信息"      # first row on page 2
    assert t[(24, 0)] == "四、结转下年度继续办理"
    assert [t[(23, c)] for c in range(3, 10)] == [_value(23, c) for c in range(3, 10)]
    assert cell_at(table, 9, 5).prov.page == 1 and cell_at(table, 10, 5).prov.page == 2
    # every row holds exactly the cells that start in it
    assert [len(r) for r in table.rows][:6] == [2, 7, 8, 8, 9, 8]


def test_merged_label_cells_keep_their_spans_across_the_page_break(tmp_path):
    table = read_pdf(make_report(tmp_path / "r.pdf")).tables()[0]
    result = cell_at(table, 4, 0)
    assert (result.text, result.rowspan, result.colspan) == ("三、本年度办理结果", 20, 1)
    denied = cell_at(table, 6, 1)
    assert (denied.text, denied.rowspan) == ("（三）不予公开", 8)
    header = cell_at(table, 0, 0)
    assert (header.rowspan, header.colspan) == (2, 3)
    assert cell_at(table, 0, 3).colspan == 7
    # nothing else claims column 0 or 1 inside the spans
    assert not [c for r in table.rows for c in r if c.col == 0 and 4 < c.row < 24]
    assert not [c for r in table.rows for c in r if c.col == 1 and 6 < c.row < 14]


def test_wrapped_cell_text_is_joined_without_spaces(tmp_path):
    table = read_pdf(make_report(tmp_path / "r.pdf")).tables()[0]
    t = texts(table)
    assert t[(5, 1)] == "（二）部分公开（区分处理的，只计这一情形，不计其他情形）"
    assert t[(1, 6)] == "社会公益组织"
    assert t[(13, 3)] == ""  # a blank cell stays blank


def test_cells_carry_page_and_bbox(tmp_path):
    table = read_pdf(make_report(tmp_path / "r.pdf")).tables()[0]
    cell = cell_at(table, 4, 1)  # （一）予以公开
    top1 = H - 72 - sum(ROW_H[:10])
    x0, y0, x1, y1 = cell.prov.bbox
    assert cell.prov.page == 1 and cell.prov.source == "native"
    assert abs(x0 - XS[1]) < 1 and abs(x1 - XS[3]) < 1
    assert abs(y0 - (top1 + sum(ROW_H[:4]))) < 1 and abs(y1 - y0 - ROW_H[4]) < 1
    assert table.prov.page == 1


def test_repeated_header_rows_on_next_page_are_dropped(tmp_path):
    table = read_pdf(make_report(tmp_path / "r.pdf", repeat_header=True)).tables()[0]
    assert len(table.rows) == 25
    assert [c.text for r in table.rows for c in r].count("申请人情况") == 1
    assert cell_at(table, 10, 2).text == "5.属于三类内部事务信息"
    assert cell_at(table, 6, 1).rowspan == 8


def test_hairline_rectangle_borders_read_like_lines(tmp_path):
    lines = read_pdf(make_report(tmp_path / "a.pdf")).tables()[0]
    rects = read_pdf(make_report(tmp_path / "b.pdf", style="rects")).tables()[0]
    assert rects.row_texts() == lines.row_texts()
    assert [(c.row, c.col, c.rowspan, c.colspan) for r in rects.rows for c in r] == \
           [(c.row, c.col, c.rowspan, c.colspan) for r in lines.rows for c in r]


def test_table_after_a_heading_on_the_next_page_is_a_new_table(tmp_path):
    pdf = pymupdf.open()
    p1, p2 = two_pages(pdf)
    draw_table([(p1, H - 72 - 32, [0, 1])], small_table("甲"), [16, 16])
    write_paragraph(p2, 72, "四、政府信息公开行政复议、行政诉讼情况")
    draw_table([(p2, 100, [0, 1])], small_table("乙"), [16, 16])
    pdf.save(tmp_path / "two.pdf")
    doc = read_pdf(tmp_path / "two.pdf")
    assert kinds(doc) == ["T", "P", "T"]
    assert [len(t.rows) for t in doc.tables()] == [2, 2]


def test_table_with_other_columns_on_next_page_is_not_joined(tmp_path):
    pdf = pymupdf.open()
    p1, p2 = two_pages(pdf)
    draw_table([(p1, H - 72 - 32, [0, 1])], small_table("甲"), [16, 16])
    # page 2: a 3-column table whose inner lines are not the first table's
    for x0, x1 in ((LEFT, 200), (200, 400), (400, RIGHT)):
        p2.draw_rect(pymupdf.Rect(x0, 72, x1, 90), color=(0, 0, 0), width=0.5)
        put_text(p2, x0 + 2, 74, "乙", CELL_SIZE)
    pdf.save(tmp_path / "two.pdf")
    assert [len(t.rows[0]) for t in read_pdf(tmp_path / "two.pdf").tables()] == [10, 3]


# ---- paragraphs, reading order, running heads -------------------------------------------

def test_paragraphs_and_tables_come_in_reading_order(tmp_path):
    doc = read_pdf(make_report(tmp_path / "r.pdf"))
    assert kinds(doc) == ["P"] * 5 + ["T"] + ["P"] * 2
    paras = [p.text for p in doc.paragraphs()]
    assert paras == ["某某市人民政府2020年政府信息公开工作年度报告", "一、总体情况", PROSE, PROSE,
                     "三、收到和处理政府信息公开申请情况", "四、政府信息公开行政复议、行政诉讼情况", PROSE_AFTER]
    assert doc.paragraphs()[-1].prov.page == 2


def test_page_numbers_and_running_heads_are_dropped(tmp_path):
    doc = read_pdf(make_report(tmp_path / "r.pdf"))
    everything = " ".join(p.text for p in doc.paragraphs())
    assert "- 1 -" not in everything and "- 2 -" not in everything
    # the title has the running head's words, but only the title is kept
    assert [p.text for p in doc.paragraphs()].count(RUNNING_HEAD) == 1


def test_paragraph_cut_by_a_page_break_is_one_paragraph(tmp_path):
    pdf = pymupdf.open()
    p1, p2 = two_pages(pdf)
    long = PROSE * 8
    per_line = int((RIGHT - LEFT) // SIZE)
    first_page_chars = (per_line - 2) + per_line * 5
    write_paragraph(p1, H - 72 - 6 * SIZE * 1.5, long[:first_page_chars])
    y = write_paragraph(p2, 72, long[first_page_chars:], indent=False)
    write_paragraph(p2, y, "二、主动公开政府信息情况")
    pdf.save(tmp_path / "p.pdf")
    assert [p.text for p in read_pdf(tmp_path / "p.pdf").paragraphs()] == [long, "二、主动公开政府信息情况"]


def test_libreoffice_export_reads_the_table_over_three_pages():
    """A real export (python-docx → soffice → PDF): borders as strokes, subset CJK fonts, the
    三 table running from page 2 to page 4, a running head on every page."""
    doc = read_pdf(FIXTURES / "pdf_libreoffice_report.pdf")
    assert doc.pages == 4
    small, big = doc.tables()
    assert small.row_texts()[0] == ["信息内容", "本年新制作数量", "本年新公开数量", "对外公开总数量"]
    labels = {c.text: c for r in big.rows for c in r}
    assert labels["三、本年度办理结果"].col == 0 and labels["三、本年度办理结果"].rowspan >= 20
    assert labels["（三）不予公开"].rowspan >= 8
    assert labels["申请人情况"].colspan == 7
    assert {c.prov.page for r in big.rows for c in r} == {2, 3, 4}
    assert "四、结转下年度继续办理" in labels
    assert [p.text for p in doc.paragraphs()].count("某某市人民政府2020 年政府信息公开工作年度报告") == 1


# ---- unreadable input -------------------------------------------------------------------

def _simple_pdf() -> pymupdf.Document:
    pdf = pymupdf.open()
    write_paragraph(pdf.new_page(width=W, height=H), 100, PROSE)
    return pdf


def test_encrypted_pdf_is_refused_with_clear_error(tmp_path):
    path = tmp_path / "locked.pdf"
    _simple_pdf().save(path, encryption=pymupdf.PDF_ENCRYPT_AES_256, user_pw="secret", owner_pw="owner")
    with pytest.raises(ReadError) as err:
        read_pdf(path)
    assert err.value.code == "encrypted" and "password" in str(err.value)


def test_pdf_with_only_an_owner_password_is_read(tmp_path):
    path = tmp_path / "restricted.pdf"
    _simple_pdf().save(path, encryption=pymupdf.PDF_ENCRYPT_AES_256, user_pw="", owner_pw="owner",
                       permissions=pymupdf.PDF_PERM_PRINT)
    assert [p.text for p in read_pdf(path).paragraphs()] == [PROSE]


def test_truncated_pdf_is_reported_corrupt(tmp_path):
    data = (FIXTURES / "pdf_libreoffice_report.pdf").read_bytes()
    path = tmp_path / "half.pdf"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ReadError) as err:
        read_pdf(path)
    assert err.value.code == "corrupt"


def test_garbage_after_a_pdf_header_is_reported_corrupt(tmp_path):
    path = tmp_path / "junk.pdf"
    path.write_bytes(b"%PDF-1.7\n" + bytes(range(256)) * 20)
    with pytest.raises(ReadError) as err:
        read_pdf(path)
    assert err.value.code == "corrupt"


# ---- pages for OCR ----------------------------------------------------------------------

def _scan_like(path: Path) -> Path:
    pdf = _simple_pdf()
    page = pdf.new_page(width=W, height=H)
    pix = pymupdf.Pixmap(pymupdf.csGRAY, pymupdf.IRect(0, 0, 200, 280), False)
    pix.set_rect(pix.irect, (230,))
    page.insert_image(page.rect, pixmap=pix)
    put_text(page, W / 2, H - 40, "2", 9)  # a page number is not a text layer
    pdf.save(path)
    return path


def test_image_only_page_is_listed_for_ocr_and_kept_in_reading_order(tmp_path):
    doc = read_pdf(_scan_like(tmp_path / "scan.pdf"))
    assert doc.pages == 2 and [p.text for p in doc.paragraphs()] == [PROSE]
    assert doc.ocr_pages == [2]
    assert [b.image.prov.page for b in doc.blocks if b.image] == [2]
    assert read_pdf(make_report(tmp_path / "r.pdf")).ocr_pages == []
