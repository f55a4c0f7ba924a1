"""The template extractor on small hand-made documents: what it reads, and what it admits
it could not."""

import pytest

from extractors.errors import NotAReport
from extractors.readers.text_dump import parse_text_dump
from extractors.synth import generate
from extractors.template import extract_fields

TITLE = "某某县人民政府\n2021年政府信息公开工作年度报告\n一、总体情况\n本年度，我县……。\n"


def test_empty_section_means_the_report_prints_no_table():
    doc = parse_text_dump(TITLE + "二、主动公开政府信息情况\n三、收到和处理政府信息公开申请情况\n")
    readings = extract_fields(doc).readings
    assert readings["active.licensing.decisions"].value is None
    assert readings["active.licensing.decisions"].confidence >= 0.9


def test_picture_where_a_table_should_be_is_flagged_not_trusted():
    doc = parse_text_dump(TITLE + "二、主动公开政府信息情况\n[image: t2.png]\n三、收到和处理政府信息公开申请情况\n")
    reading = extract_fields(doc).readings["active.licensing.decisions"]
    assert reading.value is None and reading.confidence < 0.7
    assert "not found" in reading.prov.note


def test_agency_and_year_come_from_the_title():
    readings = extract_fields(parse_text_dump(TITLE)).readings
    assert readings["meta.agency"].value == "某某县人民政府"
    assert readings["meta.year"].value == 2021
    assert readings["meta.template"].value == "2021"


def test_agency_printed_before_the_year_on_the_title_line():
    doc = parse_text_dump("东方市大田镇2020年政府信息公开工作年度报告\n一、总体情况\n正文。\n")
    assert extract_fields(doc).readings["meta.agency"].value == "东方市大田镇"


def test_document_without_template_tables_or_title_is_not_a_report():
    doc = parse_text_dump("政府工作报告\n各位代表：\n现在，我代表市人民政府，向大会报告政府工作。\n")
    with pytest.raises(NotAReport):
        extract_fields(doc)


def test_2021_other_rows_under_group_six_are_told_apart():
    rows = ["\t（六）其他处理\n\t1.申请人无正当理由逾期不补正、行政机关不再处理其政府信息公开申请\n" + "\t1\n" * 6 + "\t6",
            "\t\n\t2.申请人逾期未按收费通知要求缴纳费用、行政机关不再处理其政府信息公开申请\n" + "\t0\n" * 7,
            "\t\n\t3.其他\n" + "\t2\n" * 6 + "\t12",
            "\t（七）总计\n" + "\t3\n" * 6 + "\t18",
            "\t一、本年新收政府信息公开申请数量\n" + "\t3\n" * 6 + "\t18"]
    doc = parse_text_dump(TITLE + "三、收到和处理政府信息公开申请情况\n" + "\n\n".join(rows) + "\n")
    readings = extract_fields(doc).readings
    assert readings["requests.other_no_correction.total"].value == 6
    assert readings["requests.other_no_fee.natural"].value == 0
    assert readings["requests.other_misc.total"].value == 12
    assert readings["requests.total.total"].value == 18


def test_number_split_over_two_cells_is_rejoined_only_when_r3_proves_it():
    row = "\t一、本年新收政府信息公开申请数量\n\t1\n\t2\n\t0\n\t0\n\t0\n\t0\n\t0\n\t12"
    doc = parse_text_dump(TITLE + "三、收到和处理政府信息公开申请情况\n" + row + "\n\n\t（七）总计\n" + "\t0\n" * 7)
    reading = extract_fields(doc).readings["requests.new.natural"]
    assert reading.value == 12 and "split" in reading.prov.note


def test_headings_numbered_by_word_list_numbering_are_still_sections():
    doc = parse_text_dump("某某局2021年政府信息公开工作年度报告\n总体情况\n本年度我局依法公开。\n"
                          "主动公开政府信息情况\n存在的主要问题及改进情况\n人员不足。\n其他需要报告的事项\n无。\n")
    readings = extract_fields(doc).readings
    assert readings["text.overview"].value == "本年度我局依法公开。"
    assert readings["text.problems"].value == "人员不足。"
    assert readings["text.other"].value == "无。"


def test_scanned_document_is_an_error_that_says_it_needs_ocr():
    from extractors.document import DocumentBuilder
    from extractors.errors import ReadError

    builder = DocumentBuilder("scan.pdf", "pdf")
    for page in (1, 2):
        builder.image(f"page {page}")
    builder.doc.ocr_pages = [1, 2]
    with pytest.raises(ReadError) as err:
        extract_fields(builder.doc)
    assert err.value.code == "needs_ocr" and "OCR" in str(err.value)


def test_row_broken_over_a_page_is_joined_when_its_tail_holds_the_figures():
    rows = ["\t一、本年新收政府信息公开申请数量\n" + "\t1\n" * 6 + "\t6",
            "\t二、上年结转政府信\n" + "\t\n" * 7,
            "\t息公开申请数量\n" + "\t2\n" * 6 + "\t12",
            "\t（七）总计\n" + "\t3\n" * 6 + "\t18"]
    doc = parse_text_dump(TITLE + "三、收到和处理政府信息公开申请情况\n" + "\n\n".join(rows) + "\n")
    readings = extract_fields(doc).readings
    assert readings["requests.carried.total"].value == 12
    assert readings["requests.carried.natural"].value == 2


def test_row_broken_over_a_page_is_joined_when_its_head_holds_the_figures():
    rows = ["\t一、本年新收政府信息公开申请数量\n" + "\t1\n" * 6 + "\t6",
            "\t5．要\n" + "\t1\n" * 6 + "\t6",
            "\t求行政机关确认或重新出具已获取信息\n" + "\t\n" * 7,
            "\t（七）总计\n" + "\t3\n" * 6 + "\t18"]
    doc = parse_text_dump(TITLE + "三、收到和处理政府信息公开申请情况\n" + "\n\n".join(rows) + "\n")
    assert extract_fields(doc).readings["requests.rejected_confirm.total"].value == 6


def test_blank_row_is_not_joined_with_the_head_of_the_next_numbered_row():
    rows = ["\t一、本年新收政府信息公开申请数量\n" + "\t1\n" * 6 + "\t6",
            "\t\n\t6、属于四类过程性信息\n" + "\t\n" * 7,
            "\t\n\t7、属于行\n" + "\t\n" * 6 + "\t0",
            "\t\n\t政执法案卷\n" + "\t\n" * 7]
    doc = parse_text_dump(TITLE + "三、收到和处理政府信息公开申请情况\n" + "\n\n".join(rows) + "\n")
    readings = extract_fields(doc).readings
    assert readings["requests.denied_process.total"].value is None
    assert readings["requests.denied_enforcement.total"].value == 0


def test_appeals_table_with_ocr_garbled_headers_and_cells_is_still_read():
    """A poor picture of 四: headers half misread, two figures read as letters or boxes. The
    table is still known, the row of 15 too (garbled OCR figures are not labels); the
    garbled cells are flagged."""
    values = ["2", "I", "1", "□", "4"] + ["0"] * 10
    rows = ["\t厅政复议\n\t行政认询",
            "\n".join("\t" + t for t in ["结果组持", "结果拟正", "其他结显", "尚来事结", "总计",
                                          "未经复议直接起识", "复议后起诉"]),
            "\n".join("\t" + v for v in values)]
    doc = parse_text_dump(TITLE + "四、政府信息公开行政复议、行政诉讼情况\n" + "\n\n".join(rows)
                          + "\n\n五、存在的主要问题及改进情况\n")
    for table in doc.tables():
        for row in table.rows:
            for cell in row:
                cell.prov.source = "ocr"
    readings = extract_fields(doc).readings
    assert readings["review.upheld"].value == 2 and readings["review.total"].value == 4
    assert readings["suit_after_review.total"].value == 0
    for key in ("review.corrected", "review.pending"):
        assert readings[key].value is None and readings[key].confidence < 0.7


def test_an_ocr_figure_garbled_into_symbols_keeps_its_row_in_shape():
    """':1' ends the row: as a label it would swallow the row's figures; as a damaged figure
    only its own field is lost, and flagged. Text-layer cells are not second-guessed."""
    from extractors.template.rows import split_row

    doc = parse_text_dump(TITLE + "三、收到和处理政府信息公开申请情况\n"
                          + "\t2.其他法律行政法规禁止公开\n\t1\n" + "\t0\n" * 5 + "\t:1\n")
    [table] = doc.tables()
    [row] = table.rows
    assert len(split_row(table, row).values) == 0  # from a text layer: ':1' is text
    for cell in row:
        cell.prov.source = "ocr"
    view = split_row(table, row)
    assert [c.text for c in view.values] == ["1", "0", "0", "0", "0", "0", ":1"]


# -- not a report: real files of each format, on both sides of the line -----------------

def _write(blocks, fmt: str, path):
    """Paragraphs as a real file of `fmt`, drawn by the generator's renderers."""
    import random

    from extractors.synth.layout import Layout
    from extractors.synth.render_docx import render_docx
    from extractors.synth.render_html import render_html
    from extractors.synth.render_pdf import render_pdf
    from extractors.synth.render_text import render_text

    layout = Layout()
    data = {"txt": lambda: render_text(blocks, layout).encode("utf-8"),
            "html": lambda: render_html(blocks, layout, random.Random(0), 2022, ""),
            "docx": lambda: render_docx(blocks, 2022),
            "pdf": lambda: render_pdf(blocks, layout, 2022)}[fmt]()
    path.write_bytes(data)
    return path


def _paras(*lines: tuple[str, str]):
    from extractors.synth.blocks import Para

    return [Para(text, role) for role, text in lines]


# A README that names the report and its tables in its sentences; a notice about compiling
# the reports, with numbered headings of its own; a news item on 政务公开.
NOT_REPORTS = {
    "txt": _paras(("title", "nianbao 使用说明"),
                  ("body", "本工具读取政府信息公开工作年度报告，输出标准模型。"),
                  ("body", "表三（收到和处理政府信息公开申请情况）按行读取；主动公开政府信息情况见表二。"),
                  ("body", "安装：pip install -e . ，然后运行 nianbao extract 报告目录。")),
    "html": _paras(("title", "关于做好2022年政府信息公开工作年度报告编制发布工作的通知"),
                   ("heading", "一、准确领会，认真部署"),
                   ("body", "各单位要认真学习年度报告格式，做到应报尽报、数据精确。"),
                   ("heading", "二、按时报送，及时公布"),
                   ("body", "市直单位于1月26日前提交年报，并在门户网站公布。"),
                   ("heading", "三、明确责任，严把质量"),
                   ("body", "出现不按时发布等问题的，严肃追究责任。")),
    "docx": _paras(("title", "我区召开政务公开工作推进会"),
                   ("body", "会议要求，各单位要按时编制政府信息公开工作年度报告，主动公开政府信息，"
                            "依法办理政府信息公开申请。")),
    "pdf": _paras(("title", "某某市政府信息公开工作新闻发布会实录"),
                  ("body", "2022年，全市主动公开政府信息12万条，收到政府信息公开申请3000余件。"),
                  ("body", "记者问：年度报告何时发布？答：按条例规定于1月31日前发布。")),
}

# A real report whose tables were lost: its title and the template's headings, text only.
LOST_TABLES = _paras(
    ("title", "某某区人民政府2022年政府信息公开工作年度报告"),
    ("heading", "一、总体情况"), ("body", "2022年，我区依法推进政府信息公开工作。"),
    ("heading", "二、主动公开政府信息情况"), ("body", "（见附表一）"),
    ("heading", "三、收到和处理政府信息公开申请情况"), ("body", "本年度共收到政府信息公开申请12件。"),
    ("heading", "四、政府信息公开行政复议、行政诉讼情况"), ("body", "（见附表三）"),
    ("heading", "五、存在的主要问题及改进情况"), ("body", "公开的主动性还需加强。"),
    ("heading", "六、其他需要报告的事项"), ("body", "无。"))


@pytest.mark.parametrize("fmt", ["txt", "html", "docx", "pdf"])
def test_a_document_without_template_tables_or_headings_is_not_a_report(tmp_path, fmt):
    from extractors.pipeline import extract_file

    result = extract_file(_write(NOT_REPORTS[fmt], fmt, tmp_path / f"doc.{fmt}"))
    assert result.status == "not_a_report" and "section headings" in result.error
    assert not result.review and not result.rules and not result.fields


@pytest.mark.parametrize("fmt", ["txt", "html", "docx", "pdf"])
def test_a_report_whose_tables_were_lost_stays_a_report_and_keeps_its_flags(tmp_path, fmt):
    from extractors.pipeline import extract_file

    result = extract_file(_write(LOST_TABLES, fmt, tmp_path / f"report.{fmt}"))
    assert result.status == "ok" and result.template == "2021"
    assert result.fields["meta.agency"] == "某某区人民政府"
    flagged = {item.field for item in result.review}
    assert {"requests.new.total", "review.total", "active.licensing.decisions"} <= flagged


def test_one_template_heading_under_a_report_title_is_a_report_but_not_alone():
    assert extract_fields(parse_text_dump(TITLE)).template == "2021"
    with pytest.raises(NotAReport):
        extract_fields(parse_text_dump("会议纪要\n一、总体情况\n会议听取了工作汇报。\n"))


def test_a_row_whose_label_ocr_garbled_is_placed_by_the_template_order():
    """三's rows stand in the template's order: a row of figures whose label reads as nothing
    (4保护第游合法权益) between two rows read by their labels takes the one key missing there;
    where two keys are missing and one row stands, nothing is guessed."""
    doc = generate(3, "2021", "txt", errors=False)
    text = doc.data.decode("utf-8")
    readings = extract_fields(parse_text_dump(text.replace("4.保护第三方合法权益", "4保护第游合法权益"))).readings
    for column in ("natural", "total"):
        key = f"requests.denied_third_party.{column}"
        assert readings[key].value == doc.gold["fields"][key]
        assert "template's order" in readings[key].prov.note
    # 2. and 4. both garbled, and 3. gone: two rows where three keys are missing
    broken = text.replace("4.保护第三方合法权益", "4保护第游合法权益").replace(
        "2.其他法律行政法规禁止公开", "2其州法律仃政")
    at = broken.index("\t3.危及")
    broken = broken[:at] + broken[broken.index("\t4保护第游"):]
    readings = extract_fields(parse_text_dump(broken)).readings
    assert readings["requests.denied_third_party.total"].prov.method == "absent"


def test_a_group_label_beside_a_garbled_row_label_does_not_name_the_row():
    """（六）其他处理 | 1.申请人无正当理由…: OCR garbled the sub-row's own label, and the
    group's words alone would make it the older single row （六）. It is the row the
    template's order leaves between 5.要求… and 2.申请人逾期…: sub-row 1."""
    doc = generate(3, "2021", "txt", errors=False)
    text = doc.data.decode("utf-8")
    own = "1.申请人无正当理由逾期不补正、行政机关不再处理其政府信息公开申请"
    assert own in text
    readings = extract_fields(parse_text_dump(text.replace(own, "正、申人无正当理由期不府信息公开申请"))).readings
    assert "requests.other.total" not in readings
    key = "requests.other_no_correction.total"
    assert readings[key].value == doc.gold["fields"][key] and "template's order" in readings[key].prov.note
