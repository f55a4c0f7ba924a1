"""Agency and year from every place a report states them (issue 14), with the source used in
the provenance and disagreeing sources flagged: real HTML, DOCX and text files."""

from docx import Document as DocxDocument

from extractors.readers import read
from extractors.readers.text_dump import parse_text_dump
from extractors.template import extract_fields

SECTIONS = ("一、总体情况\n2023年，我们坚持以公开为常态、不公开为例外，全面推进政务公开。\n"
            "二、主动公开政府信息情况\n三、收到和处理政府信息公开申请情况\n"
            "四、政府信息公开行政复议、行政诉讼情况\n五、存在的主要问题及改进情况\n一是公开内容不够全面。\n"
            "六、其他需要报告的事项\n无其他需要报告的事项。\n")


def _meta(doc):
    readings = extract_fields(doc).readings
    return readings["meta.agency"], readings["meta.year"]


def _portal(tmp_path, title: str, header: str = "",
            heading: str = "2023年度政府信息公开工作年度报告") -> object:
    body = "".join(f"<p>{line}</p>" for line in (heading, *SECTIONS.splitlines()))
    html = (f'<html><head><meta charset="utf-8"><title>{title}</title></head><body>'
            f'<div class="info">{header}</div><div class="article">{body}</div>'
            '<div class="footer">网站标识码：1234567890</div></body></html>')
    path = tmp_path / "page.html"
    path.write_text(html, encoding="utf-8")
    return read(path)


def test_portal_page_title_names_the_agency_the_body_never_does(tmp_path):
    agency, year = _meta(_portal(tmp_path, "2023年度政府信息公开工作年度报告_某某区人民政府"))
    assert agency.value == "某某区人民政府" and agency.prov.method == "html_title"
    assert agency.confidence >= 0.7  # a page's own title: not a guess
    assert year.value == 2023


def test_site_name_with_its_net_suffix_completes_a_bare_place_name(tmp_path):
    agency, _ = _meta(_portal(tmp_path, "某某县政府信息公开年报-某某县人民政府网"))
    assert agency.value == "某某县人民政府" and agency.prov.method == "html_title"


def test_a_department_report_on_the_district_portal_keeps_the_department(tmp_path):
    agency, _ = _meta(_portal(tmp_path, "区教育局2023年政府信息公开工作年度报告_某某区人民政府"))
    assert agency.value == "区教育局" and agency.confidence >= 0.7


def test_the_publisher_in_the_header_or_the_sites_name_does_not_contradict_the_title(tmp_path):
    doc = _portal(tmp_path, "年度报告_某某区人民政府", header="发布时间：2024-01-20　来源：区政府办　来源：本站",
                  heading="某某区教育局2023年政府信息公开工作年度报告")
    agency, _ = _meta(doc)
    assert agency.value == "某某区教育局" and agency.prov.method == "title"
    assert agency.confidence >= 0.9 and agency.prov.note is None


def test_page_header_names_the_publishing_body(tmp_path):
    agency, _ = _meta(_portal(tmp_path, "年度报告", header="发布机构：某某县人民政府　发文日期：2024-01-20"))
    assert agency.value == "某某县人民政府" and agency.prov.method == "header"


def test_first_paragraph_names_the_agency_when_the_title_does_not():
    doc = parse_text_dump("2023年政府信息公开工作年度报告\n根据《中华人民共和国政府信息公开条例》要求，"
                          "现公布某某市某某区人民政府2023年政府信息公开工作年度报告。\n" + SECTIONS)
    agency, year = _meta(doc)
    assert agency.value == "某某市某某区人民政府" and agency.prov.method == "paragraph"
    assert year.value == 2023


def test_signature_names_agency_and_the_year_before_its_date(tmp_path):
    doc = DocxDocument()
    for line in ("政府信息公开工作年度报告", *SECTIONS.splitlines(), "某某镇人民政府", "2024年1月15日"):
        doc.add_paragraph(line)
    path = tmp_path / "signed.docx"
    doc.save(path)
    agency, year = _meta(read(path))
    assert agency.value == "某某镇人民政府" and agency.prov.method == "signature"
    assert year.value in (2023,)  # the text's 2023 and the date's year before agree
    assert year.confidence >= 0.7


def test_statistics_period_is_the_year_and_a_title_that_disagrees_is_flagged():
    doc = parse_text_dump("某某区人民政府2023年政府信息公开工作年度报告\n"
                          "本报告所列数据的统计期限自2022年1月1日起至2022年12月31日止。\n" + SECTIONS)
    agency, year = _meta(doc)
    assert year.value == 2022 and year.prov.method == "period"
    assert year.confidence < 0.7
    assert "2023" in year.prov.note and "2022" in year.prov.note and "title" in year.prov.note
    assert agency.value == "某某区人民政府" and agency.prov.method == "title"


def test_agreeing_sources_are_not_flagged():
    doc = parse_text_dump("某某区人民政府2023年政府信息公开工作年度报告\n"
                          "本报告所列数据的统计期限自2023年1月1日起至2023年12月31日止。\n" + SECTIONS
                          + "淮安市某某区人民政府\n二〇二四年一月二十日\n")
    agency, year = _meta(doc)
    assert (year.value, year.prov.method, year.confidence) == (2023, "period", 0.99)
    assert agency.value == "某某区人民政府" and agency.confidence >= 0.9 and agency.prov.note is None


def test_another_body_in_the_signature_is_flagged():
    doc = parse_text_dump("某某区人民政府2023年政府信息公开工作年度报告\n" + SECTIONS
                          + "另一县教育局\n2024年1月20日\n")
    agency, _ = _meta(doc)
    assert agency.value == "某某区人民政府" and agency.confidence < 0.7
    assert "另一县教育局" in agency.prov.note
