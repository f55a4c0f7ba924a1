"""The HTML reader: decoding, layout tables, merged cells and reading order."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from extractors.document import Document, Table
from extractors.errors import ReadError
from extractors.readers import read
from extractors.readers.html import read_html

FIXTURES = Path(__file__).parent / "fixtures"


def grid(table: Table) -> list[tuple[str, int, int, int, int]]:
    return [(c.text, c.row, c.col, c.rowspan, c.colspan) for row in table.rows for c in row]


def cell_at(table: Table, row: int, col: int):
    return next(c for r in table.rows for c in r if (c.row, c.col) == (row, col))


def kinds(doc: Document) -> list[str]:
    return ["T" if b.table else b.paragraph.text for b in doc.blocks]


def page(tmp_path: Path, body: str, head: str = '<meta charset="utf-8">') -> Document:
    path = tmp_path / "page.html"
    path.write_text(f"<html><head>{head}</head><body>{body}</body></html>", encoding="utf-8")
    return read_html(path)


# --- the 三 table of a real report, inside a portal's layout table ---------------------------

@pytest.fixture(scope="module")
def portal() -> Document:
    return read(FIXTURES / "html_portal_report.html")


def requests_table(doc: Document) -> Table:
    return next(t for t in doc.tables() if "申请人情况" in t.row_texts()[0])


def test_portal_page_is_dispatched_to_the_html_reader(portal):
    assert portal.format == "html"


def test_layout_table_does_not_swallow_the_report(portal):
    texts = [p.text for p in portal.paragraphs()]
    assert "某县人民政府2020年政府信息公开工作年度报告" in texts
    assert "一是公开内容不够全面；二是解读形式较为单一。" in texts
    # The page-wrapping table is not itself a table block: only the nav bar and the 三 table are.
    assert len(portal.tables()) == 2
    assert not any("总体情况" in c.text for t in portal.tables() for r in t.rows for c in r)


def test_paragraphs_and_tables_keep_document_order(portal):
    order = kinds(portal)
    heading = order.index("三、收到和处理政府信息公开申请情况")
    assert order[heading + 1] == "T"
    assert order[heading + 2] == "五、存在的主要问题及改进情况"
    assert order.index("一、总体情况") < heading


def test_br_splits_paragraphs(portal):
    texts = [p.text for p in portal.paragraphs()]
    i = texts.index("本年报根据《中华人民共和国政府信息公开条例》编制。")
    assert texts[i + 1] == "本年报中所列数据的统计期限自2020年1月1日起至2020年12月31日止。"


def test_script_style_noscript_and_comments_are_dropped(portal):
    everything = "\n".join(kinds(portal)) + "".join(c.text for t in portal.tables() for r in t.rows for c in r)
    for junk in ("脚本生成的文字", "document.write", "font-size", "请启用脚本", "门户页面布局表", "访问量"):
        assert junk not in everything
    # The text around a dropped inline script survives.
    assert "版权所有：某县人民政府办公室\xa0\xa0备案号：琼ICP备00000000号" in kinds(portal)


def test_requests_table_row_texts_hold_only_cells_starting_in_each_row(portal):
    rows = requests_table(portal).row_texts()
    assert rows[5] == ["三、本年度办理结果", "（一）予以公开", "1", "0", "6", "0", "0", "0", "7"]
    assert rows[7] == ["（三）不予公开", "1.属于国家秘密"] + ["0"] * 7
    assert rows[8] == ["2.其他法律行政法规禁止公开"] + ["0"] * 7
    assert rows[10] == ["4.保护第三方合法权益"] + ["0"] * 7
    assert rows[16] == ["四、结转下年度继续办理"] + ["0"] * 7


def test_rowspan_and_colspan_are_kept_on_the_starting_cell(portal):
    table = requests_table(portal)
    assert cell_at(table, 5, 0).text == "三、本年度办理结果"
    assert (cell_at(table, 5, 0).rowspan, cell_at(table, 5, 0).colspan) == (11, 1)
    assert (cell_at(table, 5, 1).text, cell_at(table, 5, 1).colspan) == ("（一）予以公开", 2)
    assert (cell_at(table, 7, 1).text, cell_at(table, 7, 1).rowspan) == ("（三）不予公开", 8)
    assert (cell_at(table, 0, 0).rowspan, cell_at(table, 0, 0).colspan) == (3, 3)
    assert cell_at(table, 0, 3).colspan == 7


def test_rowspan_shifts_following_cells_right(portal):
    table = requests_table(portal)
    # Row 8 starts under two rowspans (三 and （三）), so its first cell is in grid column 2
    # and its seven numbers fill columns 3..9.
    row8 = [(c.text, c.col) for c in table.rows[8]]
    assert row8 == [("2.其他法律行政法规禁止公开", 2)] + [("0", c) for c in range(3, 10)]
    row9 = [(c.text, c.col) for c in table.rows[9]]
    assert row9[0] == ("3.危及“三安全一稳定”", 2) and row9[1] == ("3", 3) and row9[-1] == ("3", 9)
    # Header row 2 sits under 3x3 and the 自然人/总计 rowspans: 商业企业 is column 4.
    assert [c.col for c in table.rows[2]] == [4, 5, 6, 7, 8]


def test_br_and_block_elements_in_a_cell_become_newlines(portal):
    table = requests_table(portal)
    assert cell_at(table, 2, 4).text == "商业\n企业"
    assert cell_at(table, 0, 0).text == "（本列数据的勾稽关系为：第一项加第二项之和，\n等于第三项加第四项之和）"
    assert cell_at(table, 5, 3).text == "1"  # <p><span>1</span></p> inside the cell


def test_nbsp_is_kept_inside_text(portal):
    assert "发布时间：2021-01-28\xa0\xa0来源：县政府办公室" in kinds(portal)


# --- nested tables ----------------------------------------------------------------------------

def test_nested_table_becomes_its_own_block_after_the_outer_table():
    doc = read_html(FIXTURES / "html_nested_table.html")
    assert kinds(doc) == ["表前段落", "T", "T", "表后段落"]
    outer, inner = doc.tables()
    assert (outer.id, inner.id) == ("t0", "t1")
    assert outer.row_texts()[2] == ["规范性文件", "10", "10", "296"]
    note = cell_at(outer, 3, 1)
    assert (note.text, note.colspan) == ("其中：\n以上为分级数量", 3)  # inner text kept out
    assert inner.row_texts() == [["县级", "8"], ["乡镇", "2"]]


def test_one_cell_wrapper_table_reads_as_paragraphs(tmp_path):
    doc = page(tmp_path, "<table><tr><td><p>第一段</p><p>第二段</p></td></tr></table>")
    assert kinds(doc) == ["第一段", "第二段"]


def test_small_table_wrapping_tables_is_layout_and_emits_content_in_order(tmp_path):
    doc = page(tmp_path, """<table><tr><td>左栏</td><td><p>正文前</p>
        <table><tr><td>a</td><td>b</td></tr></table><p>正文后</p></td></tr></table>""")
    assert kinds(doc) == ["左栏", "正文前", "T", "正文后"]
    assert doc.tables()[0].row_texts() == [["a", "b"]]


# --- grid positions ---------------------------------------------------------------------------

def test_rowspan_zero_and_overlong_rowspan_stop_at_the_last_row(tmp_path):
    doc = page(tmp_path, """<table>
        <tr><td rowspan="0">A</td><td rowspan="9">B</td><td>C</td></tr>
        <tr><td>D</td></tr><tr><td>E</td></tr></table>""")
    assert grid(doc.tables()[0]) == [("A", 0, 0, 3, 1), ("B", 0, 1, 3, 1), ("C", 0, 2, 1, 1),
                                     ("D", 1, 2, 1, 1), ("E", 2, 2, 1, 1)]


def test_span_covered_from_the_left_and_above_is_skipped(tmp_path):
    doc = page(tmp_path, """<table>
        <tr><td colspan="2" rowspan="2">A</td><td>B</td><td rowspan="2">C</td></tr>
        <tr><td>D</td></tr>
        <tr><td>E</td><td>F</td><td>G</td><td>H</td></tr></table>""")
    assert grid(doc.tables()[0]) == [("A", 0, 0, 2, 2), ("B", 0, 2, 1, 1), ("C", 0, 3, 2, 1),
                                     ("D", 1, 2, 1, 1),
                                     ("E", 2, 0, 1, 1), ("F", 2, 1, 1, 1), ("G", 2, 2, 1, 1),
                                     ("H", 2, 3, 1, 1)]


def test_sloppy_span_values_are_read_like_a_browser(tmp_path):
    doc = page(tmp_path, '<table><tr><td colspan="2;">A</td><td colspan="x">B</td></tr>'
                         '<tr><td>C</td><td>D</td><td>E</td></tr></table>')
    assert [(c.text, c.col, c.colspan) for c in doc.tables()[0].rows[0]] == [("A", 0, 2), ("B", 2, 1)]


def test_cell_text_is_trimmed_but_inner_spaces_kept(tmp_path):
    doc = page(tmp_path, "<table><tr><td>\n&nbsp;　合计&nbsp;数量　&nbsp;\n</td><td>  1\n  </td></tr>"
                         "<tr><td>a<br><br>b</td><td></td></tr></table>")
    assert doc.tables()[0].row_texts() == [["合计\xa0数量", "1"], ["a\nb", ""]]


def test_th_cells_and_thead_tbody_rows_are_read(tmp_path):
    doc = page(tmp_path, "<table><thead><tr><th>信息内容</th><th>数量</th></tr></thead>"
                         "<tbody><tr><td>规章</td><td>0</td></tr></tbody></table>")
    assert doc.tables()[0].row_texts() == [["信息内容", "数量"], ["规章", "0"]]


def test_inline_markup_does_not_split_a_paragraph(tmp_path):
    doc = page(tmp_path, "<div>前<span>中</span><a href='#'>后</a>\n  文字</div><h2>标题</h2><ul><li>一</li><li>二</li></ul>")
    assert kinds(doc) == ["前中后 文字", "标题", "一", "二"]


# --- decoding ---------------------------------------------------------------------------------

def test_gbk_page_without_charset_decodes():
    data = (FIXTURES / "html_gbk_no_charset.html").read_bytes()
    assert b"charset" not in data.lower()
    doc = read_html(FIXTURES / "html_gbk_no_charset.html")
    assert kinds(doc)[:2] == ["万宁市人民政府2020年政府信息公开工作年度报告",
                              "本年报根据《中华人民共和国政府信息公开条例》编制，由总体情况、主动公开政府信息情况等六部分组成。"]
    assert doc.tables()[0].row_texts()[1] == ["规范性文件", "10", "10", "296"]


def test_gb2312_declared_page_with_gbk_only_characters_decodes_as_gb18030():
    data = (FIXTURES / "html_gb2312_declared.html").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        data.decode("gb2312")  # the fixture really holds characters outside GB2312
    doc = read_html(FIXTURES / "html_gb2312_declared.html")
    assert kinds(doc)[0] == "联系人：王堃\u3000朱镕"
    assert doc.tables()[0].row_texts() == [["审核人", "李堃"], ["编制单位", "办公室"]]


def test_short_gbk_page_is_not_mistaken_for_big5(tmp_path):
    path = tmp_path / "short.html"
    path.write_bytes("<p>朱镕基</p>".encode("gbk"))
    assert kinds(read_html(path)) == ["朱镕基"]


def test_bom_wins_over_a_wrong_declaration(tmp_path):
    path = tmp_path / "bom.html"
    path.write_bytes(b"\xef\xbb\xbf" + '<meta charset="gb2312"><p>政府信息公开</p>'.encode("utf-8"))
    assert kinds(read_html(path)) == ["政府信息公开"]


def test_utf16_page_with_bom_decodes(tmp_path):
    path = tmp_path / "utf16.html"
    path.write_bytes("<html><body><p>年度报告</p></body></html>".encode("utf-16"))
    assert kinds(read_html(path)) == ["年度报告"]


def test_utf8_page_declared_gb2312_decodes_as_utf8(tmp_path):
    path = tmp_path / "mislabelled.html"
    path.write_bytes('<meta http-equiv="Content-Type" content="text/html; charset=GB2312"><p>镕基年度报告</p>'
                     .encode("utf-8"))
    assert kinds(read_html(path)) == ["镕基年度报告"]


def test_gbk_page_declared_utf8_falls_back_to_detection(tmp_path):
    path = tmp_path / "wrong_utf8.html"
    path.write_bytes('<meta charset="utf-8"><p>政府信息公开工作年度报告</p>'.encode("gbk"))
    assert kinds(read_html(path)) == ["政府信息公开工作年度报告"]


def test_xml_declared_xhtml_decodes(tmp_path):
    path = tmp_path / "x.html"
    path.write_bytes('<?xml version="1.0" encoding="gbk"?><html><body><p>堃</p></body></html>'.encode("gbk"))
    assert kinds(read_html(path)) == ["堃"]


# --- errors and speed -------------------------------------------------------------------------

def test_whitespace_only_page_is_empty(tmp_path):
    path = tmp_path / "blank.html"
    path.write_bytes(b"  \n\t ")
    with pytest.raises(ReadError) as err:
        read_html(path)
    assert err.value.code == "empty"


def test_one_megabyte_page_reads_in_well_under_a_second(tmp_path):
    row = "<tr><td><p><span>（三）不予公开</span></p></td>" + "<td><p align=center><span>0</span></p></td>" * 7 + "</tr>"
    section = ('<div class="nav"><ul>' + '<li><a href="/x">栏目</a></li>' * 20 + "</ul></div>"
               + '<p style="text-indent:2em"><span style="font-family:仿宋">2020年，本机关坚持以公开为常态、'
                 "不公开为例外，全面推进决策、执行、管理、服务、结果公开。</span></p>" * 20
               + "<table>" + row * 25 + "</table>")
    body = "<table><tr><td>" + section * 80 + "</td></tr></table>"
    path = tmp_path / "big.html"
    path.write_bytes(f"<html><head><meta charset=gbk></head><body>{body}</body></html>".encode("gbk"))
    assert path.stat().st_size > 1_000_000
    # CPU time, best of two: the machine's other load is not the reader's cost.
    elapsed = float("inf")
    for _ in range(2):
        start = time.process_time()
        doc = read_html(path)
        elapsed = min(elapsed, time.process_time() - start)
    assert len(doc.tables()) == 80 and len(doc.tables()[0].rows) == 25
    assert elapsed < 1.0, f"{elapsed:.2f}s"


def test_pre_lines_are_paragraphs(tmp_path):
    doc = page(tmp_path, "<pre>第一行\n  第二行\n\n</pre>")
    assert kinds(doc) == ["第一行", "第二行"]


def test_table_outside_any_cell_is_still_read(tmp_path):
    doc = page(tmp_path, "<table><tr><td>a</td><td>b</td></tr><table><tr><td>c</td><td>d</td></tr></table></table>")
    assert [t.row_texts() for t in doc.tables()] == [[["a", "b"]], [["c", "d"]]]


def test_table_caption_is_a_paragraph_before_the_table(tmp_path):
    doc = page(tmp_path, "<p>前</p><table><caption>表一 主动公开情况</caption><tr><td>规章</td><td>0</td></tr></table>")
    assert kinds(doc) == ["前", "表一 主动公开情况", "T"]
    assert doc.tables()[0].row_texts() == [["规章", "0"]]


def test_picture_in_the_page_becomes_an_image_block(tmp_path):
    page = tmp_path / "p.html"
    page.write_text("<html><body><p>二、主动公开政府信息情况</p><p><img src='t2.png'></p>"
                    "<p>三、收到和处理政府信息公开申请情况</p></body></html>", encoding="utf-8")
    doc = read_html(page)
    kinds = ["image" if b.image else "p" for b in doc.blocks]
    assert kinds == ["p", "image", "p"] and doc.blocks[1].image.name == "t2.png"


# --- page furniture and the page's title (issue 14) -------------------------------------------

def marks(doc: Document) -> dict[str, str | None]:
    return {p.text: p.furniture for p in doc.paragraphs()}


PARAS = [f"<p>第{i}段，本年度我区全面推进政务公开工作，公开内容不断丰富。</p>" for i in range(12)]
ARTICLE = "".join(PARAS)


def test_footer_nav_and_header_elements_are_marked_chrome(tmp_path):
    doc = page(tmp_path, '<header><p>某某区人民政府门户网站</p></header><nav><p>网站首页</p></nav>'
               f'<div>{ARTICLE}</div><footer><p>主办单位：某某区人民政府办公室</p></footer>'
               '<div role="contentinfo"><p>网站地图</p></div><div class="site-footer"><p>技术支持</p></div>')
    m = marks(doc)
    assert m["某某区人民政府门户网站"] == m["网站首页"] == "chrome"
    assert m["主办单位：某某区人民政府办公室"] == m["网站地图"] == m["技术支持"] == "chrome"
    assert m["第0段，本年度我区全面推进政务公开工作，公开内容不断丰富。"] is None


def test_text_after_the_article_container_is_marked_outside(tmp_path):
    doc = page(tmp_path, f'<div id="wrap"><div id="content">{ARTICLE}</div>'
               '<div><p>上一篇：某某通知</p></div></div><div><p>地址：某某路1号</p></div>')
    m = marks(doc)
    assert m["上一篇：某某通知"] == m["地址：某某路1号"] == "outside"
    assert m["第11段，本年度我区全面推进政务公开工作，公开内容不断丰富。"] is None


def test_a_line_of_links_is_marked_links_and_a_link_inside_a_sentence_is_not(tmp_path):
    doc = page(tmp_path, f'<div>{ARTICLE}<p><a href="/a">政策文件</a> <a href="/b">政策解读</a></p>'
               '<p>报告全文见区政府门户网站<a href="/nb">政务公开专栏</a>，欢迎查阅并提出意见建议。</p></div>')
    m = marks(doc)
    assert m["政策文件 政策解读"] == "links"
    assert m["报告全文见区政府门户网站政务公开专栏，欢迎查阅并提出意见建议。"] is None


def test_a_short_page_and_word_sections_of_like_size_mark_nothing_outside(tmp_path):
    assert set(marks(page(tmp_path, "<div><p>短页</p></div><div><p>另一块</p></div>")).values()) == {None}
    first, second = "".join(PARAS[:6]), "".join(PARAS[6:])
    doc = page(tmp_path, f'<div class="WordSection1">{first}</div><div class="WordSection2">{second}</div>')
    assert set(marks(doc).values()) == {None}


def test_page_title_is_kept_as_the_documents_title(tmp_path):
    doc = page(tmp_path, "<p>正文</p>", head='<meta charset="utf-8"><title> 2023年度报告_某某区人民政府 </title>')
    assert doc.title == "2023年度报告_某某区人民政府"
    assert page(tmp_path, "<p>正文</p>").title is None
