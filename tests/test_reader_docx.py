"""The DOCX reader: body order, merged cells, text boxes, tracked changes, zip bomb refusal.

Fixtures are built at test time with python-docx, which writes the same merge markup Word
does (gridSpan, vMerge restart/continue); what python-docx cannot write is added as raw XML.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import docx
import pytest
from docx.oxml import parse_xml

from extractors.document import Document, Table
from extractors.errors import ReadError
from extractors.readers import docx as docx_reader
from extractors.readers import read
from extractors.readers.docx import read_docx

NS = ('xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" '
      'xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006" '
      'xmlns:wps="http://schemas.microsoft.com/office/word/2010/wordprocessingShape" '
      'xmlns:v="urn:schemas-microsoft-com:vml"')

NUMBERS = {"granted": ["1", "0", "6", "0", "0", "0", "7"], "safety": ["3", "0", "0", "0", "0", "0", "3"]}
DENIED = ["1.属于国家秘密", "2.其他法律行政法规禁止公开", "3.危及“三安全一稳定”", "4.保护第三方合法权益",
          "5.属于三类内部事务信息", "6.属于四类过程性信息", "7.属于行政执法案卷", "8.属于行政查询事项"]


def kinds(doc: Document) -> list[str]:
    return ["T" if b.table else b.paragraph.text for b in doc.blocks]


def cell_at(table: Table, row: int, col: int):
    return next(c for r in table.rows for c in r if (c.row, c.col) == (row, col))


def append_xml(document, xml: str) -> None:
    """Add a raw body element before the closing section properties."""
    body = document.element.body
    body.insert(len(body) - 1, parse_xml(xml))


def fill(table, row: int, col: int, values: list[str]) -> None:
    for offset, value in enumerate(values):
        table.cell(row, col + offset).text = value


def build_requests_table(document) -> None:
    """Rows 5..16 of the real 三 table: 三 spans 11 rows, （三）不予公开 spans 8."""
    t = document.add_table(rows=12, cols=10)
    t.cell(0, 0).merge(t.cell(10, 0)).text = "三、本年度办理结果"
    t.cell(0, 1).merge(t.cell(0, 2)).text = "（一）予以公开"
    fill(t, 0, 3, NUMBERS["granted"])
    t.cell(1, 1).merge(t.cell(1, 2)).text = "（二）部分公开（区分处理的，只计这一情形，不计其他情形）"
    fill(t, 1, 3, ["0"] * 7)
    t.cell(2, 1).merge(t.cell(9, 1)).text = "（三）不予公开"
    for i, label in enumerate(DENIED):
        t.cell(2 + i, 2).text = label
        fill(t, 2 + i, 3, NUMBERS["safety"] if label.startswith("3.") else ["0"] * 7)
    t.cell(10, 1).merge(t.cell(10, 2)).text = "（七）总计"
    fill(t, 10, 3, ["7", "3", "7", "0", "0", "0", "17"])
    t.cell(11, 0).merge(t.cell(11, 2)).text = "四、结转下年度继续办理"
    fill(t, 11, 3, ["0"] * 7)


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    d = docx.Document()
    d.sections[0].header.paragraphs[0].text = "页眉：某县人民政府"
    d.sections[0].footer.paragraphs[0].text = "第 1 页"
    d.add_paragraph("某县人民政府2020年政府信息公开工作年度报告")
    p = d.add_paragraph("本年报根据《条例》编制。")
    p.add_run().add_break()
    p.add_run("统计期限：\t2020年")
    d.add_paragraph("三、收到和处理政府信息公开申请情况")
    build_requests_table(d)
    d.add_paragraph("五、存在的主要问题及改进情况")
    path = tmp_path_factory.mktemp("docx") / "docx_report.docx"
    d.save(path)
    return path


def test_report_is_dispatched_to_the_docx_reader(report):
    assert read(report).format == "docx"


def test_body_paragraphs_and_tables_keep_document_order(report):
    assert kinds(read_docx(report)) == [
        "某县人民政府2020年政府信息公开工作年度报告",
        "本年报根据《条例》编制。\n统计期限： 2020年",  # w:br is a newline, a tab a space
        "三、收到和处理政府信息公开申请情况", "T", "五、存在的主要问题及改进情况"]


def test_headers_and_footers_are_not_read(report):
    assert not any("页眉" in k or "第 1 页" in k for k in kinds(read_docx(report)))


def test_requests_table_rows_hold_only_cells_starting_in_them(report):
    rows = read_docx(report).tables()[0].row_texts()
    assert rows[0] == ["三、本年度办理结果", "（一）予以公开", *NUMBERS["granted"]]
    assert rows[2] == ["（三）不予公开", "1.属于国家秘密", *["0"] * 7]
    assert rows[3] == ["2.其他法律行政法规禁止公开", *["0"] * 7]
    assert rows[4] == ["3.危及“三安全一稳定”", *NUMBERS["safety"]]
    assert rows[11] == ["四、结转下年度继续办理", *["0"] * 7]


def test_vmerge_continuation_is_not_a_cell(report):
    table = read_docx(report).tables()[0]
    label = cell_at(table, 0, 0)
    assert (label.text, label.rowspan, label.colspan) == ("三、本年度办理结果", 11, 1)
    denied = cell_at(table, 2, 1)
    assert (denied.text, denied.rowspan) == ("（三）不予公开", 8)
    # Rows 3..9 start under both merges: no cell at column 0 or 1, eight cells each.
    for row in table.rows[3:10]:
        assert [c.col for c in row] == list(range(2, 10))
    assert sum(len(r) for r in table.rows) == 9 + 8 + 9 + 7 * 8 + 8 + 8


def test_gridspan_sets_colspan_and_shifts_columns(report):
    table = read_docx(report).tables()[0]
    granted = cell_at(table, 0, 1)
    assert (granted.text, granted.colspan) == ("（一）予以公开", 2)
    assert [(c.text, c.col) for c in table.rows[0]][2:4] == [("1", 3), ("0", 4)]
    carry = cell_at(table, 11, 0)
    assert (carry.text, carry.colspan, carry.rowspan) == ("四、结转下年度继续办理", 3, 1)
    assert table.rows[11][-1].col == 9


def test_block_merged_header_spans_rows_and_columns(tmp_path):
    # The 三 table's header: a 3x3 勾稽关系 note, 申请人情况 over seven columns, 自然人 and
    # 总计 over two rows, 法人或其他组织 over five columns.
    d = docx.Document()
    t = d.add_table(rows=3, cols=10)
    t.cell(0, 0).merge(t.cell(2, 2)).text = "（本列数据的勾稽关系为：第一项加第二项之和，等于第三项加第四项之和）"
    t.cell(0, 3).merge(t.cell(0, 9)).text = "申请人情况"
    t.cell(1, 3).merge(t.cell(2, 3)).text = "自然人"
    t.cell(1, 4).merge(t.cell(1, 8)).text = "法人或其他组织"
    t.cell(1, 9).merge(t.cell(2, 9)).text = "总计"
    fill(t, 2, 4, ["商业企业", "科研机构", "社会公益组织", "法律服务机构", "其他"])
    d.save(tmp_path / "head.docx")
    table = read_docx(tmp_path / "head.docx").tables()[0]
    assert [[(c.text[:5], c.col, c.rowspan, c.colspan) for c in row] for row in table.rows] == [
        [("（本列数据", 0, 3, 3), ("申请人情况", 3, 1, 7)],
        [("自然人", 3, 2, 1), ("法人或其他", 4, 1, 5), ("总计", 9, 2, 1)],
        [("商业企业", 4, 1, 1), ("科研机构", 5, 1, 1), ("社会公益组", 6, 1, 1), ("法律服务机", 7, 1, 1),
         ("其他", 8, 1, 1)]]


def test_grid_before_offsets_the_first_cell(tmp_path):
    d = docx.Document()
    append_xml(d, f"""<w:tbl {NS}><w:tblGrid><w:gridCol/><w:gridCol/><w:gridCol/></w:tblGrid>
      <w:tr><w:tc><w:p><w:r><w:t>A</w:t></w:r></w:p></w:tc><w:tc><w:p><w:r><w:t>B</w:t></w:r></w:p></w:tc>
        <w:tc><w:p><w:r><w:t>C</w:t></w:r></w:p></w:tc></w:tr>
      <w:tr><w:trPr><w:gridBefore w:val="1"/></w:trPr>
        <w:tc><w:tcPr><w:gridSpan w:val="2"/></w:tcPr><w:p><w:r><w:t>D</w:t></w:r></w:p></w:tc></w:tr>
    </w:tbl>""")
    d.save(tmp_path / "g.docx")
    table = read_docx(tmp_path / "g.docx").tables()[0]
    assert [(c.text, c.row, c.col, c.colspan) for c in table.rows[1]] == [("D", 1, 1, 2)]


def test_rows_in_content_controls_are_read_and_deleted_rows_are_not(tmp_path):
    d = docx.Document()
    append_xml(d, f"""<w:tbl {NS}>
      <w:tr><w:tc><w:p><w:r><w:t>规章</w:t></w:r></w:p></w:tc><w:tc><w:p><w:r><w:t>0</w:t></w:r></w:p></w:tc></w:tr>
      <w:sdt><w:sdtContent><w:tr>
        <w:tc><w:p><w:r><w:t>规范性文件</w:t></w:r></w:p></w:tc>
        <w:sdt><w:sdtContent><w:tc><w:p><w:r><w:t>10</w:t></w:r></w:p></w:tc></w:sdtContent></w:sdt>
      </w:tr></w:sdtContent></w:sdt>
      <w:tr><w:trPr><w:del w:id="3" w:author="a"/></w:trPr>
        <w:tc><w:p><w:r><w:t>已删除</w:t></w:r></w:p></w:tc><w:tc><w:p/></w:tc></w:tr>
    </w:tbl>""")
    d.save(tmp_path / "rows.docx")
    assert read_docx(tmp_path / "rows.docx").tables()[0].row_texts() == [["规章", "0"], ["规范性文件", "10"]]


def test_legacy_hmerge_continuation_widens_the_cell_on_its_left(tmp_path):
    d = docx.Document()
    append_xml(d, f"""<w:tbl {NS}>
      <w:tr><w:tc><w:tcPr><w:hMerge w:val="restart"/></w:tcPr><w:p><w:r><w:t>申请人情况</w:t></w:r></w:p></w:tc>
        <w:tc><w:tcPr><w:hMerge/></w:tcPr><w:p/></w:tc><w:tc><w:p><w:r><w:t>X</w:t></w:r></w:p></w:tc></w:tr>
    </w:tbl>""")
    d.save(tmp_path / "h.docx")
    table = read_docx(tmp_path / "h.docx").tables()[0]
    assert [(c.text, c.col, c.colspan) for c in table.rows[0]] == [("申请人情况", 0, 2), ("X", 2, 1)]


def test_table_inside_a_cell_becomes_its_own_block_after_the_outer_table(tmp_path):
    d = docx.Document()
    outer = d.add_table(rows=2, cols=2)
    fill(outer, 0, 0, ["信息内容", "数量"])
    cell = outer.cell(1, 0)
    cell.text = "其中："
    inner = cell.add_table(rows=1, cols=2)
    fill(inner, 0, 0, ["县级", "8"])
    cell.add_paragraph("以上为分级数量")
    d.add_paragraph("表后")
    d.save(tmp_path / "n.docx")
    doc = read_docx(tmp_path / "n.docx")
    assert kinds(doc) == ["T", "T", "表后"]
    outer_t, inner_t = doc.tables()
    assert cell_at(outer_t, 1, 0).text == "其中：\n以上为分级数量"
    assert inner_t.row_texts() == [["县级", "8"]]


def test_multi_paragraph_cell_text_joins_lines_and_drops_empty_ones(tmp_path):
    d = docx.Document()
    t = d.add_table(rows=1, cols=1)
    t.cell(0, 0).text = "本年新"
    t.cell(0, 0).add_paragraph("")
    t.cell(0, 0).add_paragraph("  制作数量 ")
    d.save(tmp_path / "c.docx")
    assert read_docx(tmp_path / "c.docx").tables()[0].rows[0][0].text == "本年新\n制作数量"


TEXT_BOX = """<w:p {ns}><w:r><w:t>锚定段落</w:t></w:r><w:r><mc:AlternateContent>
  <mc:Choice Requires="wps"><w:drawing><wps:txbx><w:txbxContent>
    <w:p><w:r><w:t>文本框第一段</w:t></w:r></w:p><w:p><w:r><w:t>文本框第二段</w:t></w:r></w:p>
  </w:txbxContent></wps:txbx></w:drawing></mc:Choice>
  <mc:Fallback><w:pict><v:shape><v:textbox><w:txbxContent>
    <w:p><w:r><w:t>文本框第一段</w:t></w:r></w:p><w:p><w:r><w:t>文本框第二段</w:t></w:r></w:p>
  </w:txbxContent></v:textbox></v:shape></w:pict></mc:Fallback>
</mc:AlternateContent></w:r></w:p>"""


def test_text_box_paragraphs_are_read(tmp_path):
    d = docx.Document()
    d.add_paragraph("前")
    append_xml(d, TEXT_BOX.format(ns=NS))
    append_xml(d, f'<w:p {NS}><w:r><w:pict><v:shape><v:textbox><w:txbxContent><w:p><w:r>'
                  f'<w:t>旧式文本框</w:t></w:r></w:p></w:txbxContent></v:textbox></v:shape></w:pict></w:r></w:p>')
    d.add_paragraph("后")
    d.save(tmp_path / "tb.docx")
    # Choice and Fallback carry the same box: it is read once, after its anchoring paragraph.
    assert kinds(read_docx(tmp_path / "tb.docx")) == ["前", "锚定段落", "文本框第一段", "文本框第二段", "旧式文本框", "后"]


def test_deleted_text_is_skipped_and_inserted_text_kept(tmp_path):
    d = docx.Document()
    append_xml(d, f"""<w:p {NS}><w:r><w:t>共收到申请</w:t></w:r>
      <w:del w:id="1" w:author="a"><w:r><w:delText>15</w:delText></w:r></w:del>
      <w:ins w:id="2" w:author="a"><w:r><w:t>17</w:t></w:r></w:ins><w:r><w:t>件</w:t></w:r></w:p>""")
    d.save(tmp_path / "tc.docx")
    assert kinds(read_docx(tmp_path / "tc.docx")) == ["共收到申请17件"]


def test_tab_stops_and_field_codes_are_not_text(tmp_path):
    d = docx.Document()
    append_xml(d, f"""<w:p {NS}><w:pPr><w:tabs><w:tab w:val="left" w:pos="420"/></w:tabs></w:pPr>
      <w:r><w:fldChar w:fldCharType="begin"/></w:r><w:r><w:instrText> PAGE </w:instrText></w:r>
      <w:r><w:fldChar w:fldCharType="separate"/></w:r><w:r><w:t>3</w:t></w:r>
      <w:r><w:fldChar w:fldCharType="end"/></w:r></w:p>""")
    d.save(tmp_path / "f.docx")
    assert kinds(read_docx(tmp_path / "f.docx")) == ["3"]


def test_content_control_contents_are_read(tmp_path):
    d = docx.Document()
    append_xml(d, f"""<w:sdt {NS}><w:sdtPr><w:alias w:val="标题"/></w:sdtPr><w:sdtContent>
      <w:p><w:r><w:t>控件内的段落</w:t></w:r></w:p></w:sdtContent></w:sdt>""")
    d.save(tmp_path / "s.docx")
    assert kinds(read_docx(tmp_path / "s.docx")) == ["控件内的段落"]


# --- refusing what cannot be read -------------------------------------------------------------

def write_zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def test_docx_zip_bomb_is_refused(tmp_path, monkeypatch):
    bomb = write_zip(tmp_path / "bomb.docx", {
        "[Content_Types].xml": b"<Types/>",
        "word/document.xml": b"<w:document>" + b" " * 50_000_000 + b"</w:document>"})
    assert bomb.stat().st_size < 200_000

    def no_inflating(*args, **kwargs):
        raise AssertionError("the reader inflated a member of a zip bomb")

    monkeypatch.setattr(zipfile.ZipFile, "open", no_inflating)
    with pytest.raises(ReadError) as err:
        read_docx(bomb)
    assert err.value.code == "too_large" and "zip bomb" in str(err.value)


def test_docx_over_the_total_uncompressed_cap_is_refused(report, monkeypatch):
    monkeypatch.setattr(docx_reader, "MAX_UNZIPPED_BYTES", 10_000)
    with pytest.raises(ReadError) as err:
        read_docx(report)
    assert err.value.code == "too_large"


def test_non_zip_bytes_are_corrupt(tmp_path):
    path = tmp_path / "fake.docx"
    path.write_bytes(b"PK\x03\x04 this is not really a zip archive")
    with pytest.raises(ReadError) as err:
        read_docx(path)
    assert err.value.code == "corrupt"


def test_zip_without_a_word_document_is_corrupt(tmp_path):
    path = write_zip(tmp_path / "other.docx", {"hello.txt": b"hi"})
    with pytest.raises(ReadError) as err:
        read_docx(path)
    assert err.value.code == "corrupt"


def test_truncated_docx_is_corrupt(report, tmp_path):
    path = tmp_path / "cut.docx"
    path.write_bytes(report.read_bytes()[:4000])
    with pytest.raises(ReadError) as err:
        read_docx(path)
    assert err.value.code == "corrupt"


def test_damaged_compressed_stream_is_corrupt(report, tmp_path):
    data = bytearray(report.read_bytes())
    with zipfile.ZipFile(report) as zf:
        info = zf.getinfo("word/document.xml")
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    data[start + 20:start + 40] = b"\xff" * 20
    path = tmp_path / "damaged.docx"
    path.write_bytes(bytes(data))
    with pytest.raises(ReadError) as err:
        read_docx(path)
    assert err.value.code == "corrupt"


def test_macro_enabled_document_body_is_read(report, tmp_path):
    path = tmp_path / "report.docm"
    with zipfile.ZipFile(report) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "[Content_Types].xml":
                data = data.replace(b"openxmlformats-officedocument.wordprocessingml.document.main+xml",
                                    b"ms-word.document.macroEnabled.main+xml")
            dst.writestr(info.filename, data)
    assert kinds(read_docx(path))[0] == "某县人民政府2020年政府信息公开工作年度报告"
    assert read_docx(path).tables()[0].rows[2][0].rowspan == 8


def test_docx_with_too_many_members_is_refused(report, monkeypatch):
    monkeypatch.setattr(docx_reader, "MAX_MEMBERS", 5)
    with pytest.raises(ReadError) as err:
        read_docx(report)
    assert err.value.code == "too_large"


def test_zip_encrypted_member_is_reported_as_encrypted(report, tmp_path):
    data = bytearray(report.read_bytes())
    entry = data.find(b"PK\x01\x02")  # first central directory entry; its flags are at +8
    data[entry + 8] |= 0x01
    path = tmp_path / "locked.docx"
    path.write_bytes(bytes(data))
    with pytest.raises(ReadError) as err:
        read_docx(path)
    assert err.value.code == "encrypted"


def test_text_left_in_a_vmerge_continuation_joins_the_merged_cell(tmp_path):
    d = docx.Document()
    append_xml(d, f"""<w:tbl {NS}>
      <w:tr><w:tc><w:tcPr><w:vMerge w:val="restart"/></w:tcPr><w:p><w:r><w:t>（四）无法提供</w:t></w:r></w:p></w:tc>
        <w:tc><w:p><w:r><w:t>1</w:t></w:r></w:p></w:tc></w:tr>
      <w:tr><w:tc><w:tcPr><w:vMerge w:val="continue"/></w:tcPr><w:p><w:r><w:t>（续）</w:t></w:r></w:p></w:tc>
        <w:tc><w:p><w:r><w:t>2</w:t></w:r></w:p></w:tc></w:tr>
    </w:tbl>""")
    d.save(tmp_path / "v.docx")
    table = read_docx(tmp_path / "v.docx").tables()[0]
    assert [[(c.text, c.row, c.col, c.rowspan) for c in row] for row in table.rows] == [
        [("（四）无法提供\n（续）", 0, 0, 2), ("1", 0, 1, 1)], [("2", 1, 1, 1)]]


def test_inline_picture_becomes_an_image_block(tmp_path):
    import docx
    import fitz

    png = tmp_path / "t.png"
    pix = fitz.Pixmap(fitz.csRGB, fitz.IRect(0, 0, 8, 8), 0)
    pix.save(str(png))
    document = docx.Document()
    document.add_paragraph("二、主动公开政府信息情况")
    document.add_picture(str(png))
    document.add_paragraph("三、收到和处理政府信息公开申请情况")
    path = tmp_path / "pic.docx"
    document.save(path)
    doc = read_docx(path)
    assert ["image" if b.image else "p" for b in doc.blocks] == ["p", "image", "p"]
