"""Where text sections end (issue 14): real files in each format whose last section is followed
by page furniture, a chart's labels or OCR residue of a picture; and sections whose own last
lines must be kept whole."""

import io
import unicodedata

import pymupdf
import pytest
from docx import Document as DocxDocument
from docx.shared import Cm
from PIL import Image

from extractors.readers import read
from extractors.synth.fonts import face_bytes, installed
from extractors.template import extract_fields
from extractors.template.section_end import line_kind

OVERVIEW = "2023年，我区坚持以公开为常态、不公开为例外，全面推进政务公开工作。"
PROBLEMS = "一是公开内容不够全面；二是解读形式较为单一。下一步，我区将加强业务培训。"
OTHER = "本年度共办理人大代表建议12件、政协委员提案9件，办复率100%。"
HEADINGS = ("一、总体情况", "二、主动公开政府信息情况", "三、收到和处理政府信息公开申请情况",
            "四、政府信息公开行政复议、行政诉讼情况", "五、存在的主要问题及改进情况", "六、其他需要报告的事项")


def _report_body(other_tail: str = "") -> str:
    parts = ["<p>某某区人民政府2023年政府信息公开工作年度报告</p>"]
    for heading in HEADINGS:
        parts.append(f"<p><strong>{heading}</strong></p>")
        text = {"一": OVERVIEW, "五": PROBLEMS, "六": OTHER}.get(heading[0])
        if text:
            parts.append(f"<p>{text}</p>")
    return "\n".join(parts) + other_tail


def _texts(path):
    readings = extract_fields(read(path)).readings
    return {k: readings[k] for k in ("text.overview", "text.problems", "text.other")}


def _nfkc(text):
    """PyMuPDF's text layer of an embedded CJK face gives some characters as compatibility
    ideographs (年 as U+F98E); NFKC folds them back."""
    return unicodedata.normalize("NFKC", text) if text else text


def _page(tmp_path, name, html):
    path = tmp_path / name
    path.write_text(html, encoding="utf-8")
    return path


# Three ways portals end a page: HTML5 landmarks, a div template with class names, and an old
# table layout with no names at all (only the footer's own lines say what they are).
FOOTER_HTML5 = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>年度报告</title></head><body>
<header><nav><a href="/">首页</a> <a href="/zwgk/">政务公开</a> <a href="/hd/">互动交流</a></nav></header>
<main><article>{body}</article></main>
<footer><p>建议使用1920×1080分辨率浏览本网站</p><p>主办单位：某某区人民政府办公室</p>
<p>网站标识码：4400000001　粤ICP备12345678号-1　粤公网安备 44000002000001号</p></footer>
</body></html>"""

FOOTER_DIVS = """<html><head><meta charset="utf-8"></head><body>
<div class="top-menu"><a href="/">首页</a> | <a href="/a">机构概况</a> | <a href="/b">政务公开</a></div>
<div class="wrap"><div class="detail">{body}</div>
<div class="tools"><a href="javascript:window.print()">打印本页</a> <a href="javascript:window.close()">关闭窗口</a></div>
<div class="qr"><img src="qr.png" alt=""><p>扫一扫在手机打开当前页</p></div></div>
<div class="bottom"><p>版权所有：某某区人民政府　技术支持：某某信息中心</p>
<p>联系我们　网站地图　隐私声明</p></div></body></html>"""

FOOTER_TABLES = """<html><head><meta charset="gb2312"></head><body>
<table width="1000"><tr><td><table><tr><td><a href="/">首页</a></td><td><a href="/x">政务公开</a></td></tr></table></td></tr>
<tr><td>{body}</td></tr>
<tr><td><table><tr><td>主办：某某县人民政府办公室　承办：某某县大数据中心　地址：某某县人民路1号
</td></tr><tr><td>琼ICP备00000000号　政府网站标识码：4690000001</td></tr></table></td></tr></table>
</body></html>"""


@pytest.mark.parametrize("template", [FOOTER_HTML5, FOOTER_DIVS, FOOTER_TABLES],
                         ids=["html5-landmarks", "div-classes", "table-layout"])
def test_portal_footer_is_not_part_of_the_last_section(tmp_path, template):
    html = template.format(body=_report_body())
    path = tmp_path / "report.html"
    path.write_bytes(html.encode("gb18030" if "gb2312" in html else "utf-8"))
    texts = _texts(path)
    assert texts["text.overview"].value == OVERVIEW
    assert texts["text.problems"].value == PROBLEMS
    assert texts["text.other"].value == OTHER
    assert all(t.confidence >= 0.9 for t in texts.values()), [t.prov.note for t in texts.values()]


def test_attachment_link_and_publishing_line_after_the_article_are_dropped(tmp_path):
    body = _report_body('<p>附件：<a href="/files/2023nb.pdf">某某区2023年政府信息公开工作年度报告.pdf</a></p>')
    page = _page(tmp_path, "a.html", FOOTER_DIVS.format(body=body))
    assert _texts(page)["text.other"].value == OTHER


def test_a_sentence_after_the_article_is_kept_but_flagged(tmp_path):
    # Word's web pages split a report into parts; a part after the one taken for the article
    # must not be lost, only doubted.
    html = ('<html><head><meta charset="utf-8"></head><body><div class="content">' + _report_body()
            + "</div><div><p>另外，本年度我区还办理了群众来信23件，均已按期答复，群众满意率较高。</p></div>"
            "</body></html>")
    other = _texts(_page(tmp_path, "b.html", html))["text.other"]
    assert other.value == OTHER + "\n另外，本年度我区还办理了群众来信23件，均已按期答复，群众满意率较高。"
    assert other.confidence < 0.7 and "after its article" in other.prov.note


def _cjk_pdf(path, draw):
    if installed("Noto Sans CJK SC") is None:
        pytest.skip("Noto Sans CJK SC is not installed (scripts/synth-deps.sh)")
    doc = pymupdf.open()
    page = doc.new_page()
    page.insert_font(fontname="cjk", fontbuffer=face_bytes("Noto Sans CJK SC"))
    y = [60.0]

    def text(x, at, line, size=10.5):
        page.insert_text((x, at), line, fontsize=size, fontname="cjk")

    def line(t, size=10.5):
        text(60, y[0], t, size)
        y[0] += size * 1.9

    line("某某区人民政府2023年政府信息公开工作年度报告", 15)
    for heading in HEADINGS:
        line(heading, 12)
        body = {"一": OVERVIEW, "五": PROBLEMS, "六": OTHER}.get(heading[0])
        if body:
            line(body)
    draw(page, text, y[0] + 20)
    doc.save(path)
    return path


def _bar_chart(page, text, top):
    """A bar chart drawn in the PDF (as WPS and Word export one): its title with the count in
    brackets, a value over each bar, the labels under them, a share beside."""
    text(200, top, "依申请公开信息答复情况 (17件)", 9)
    for i, (label, value) in enumerate((("予以公开", 8), ("部分公开", 2), ("不予公开", 4), ("无法提供", 3))):
        x, h = 100 + i * 90, value * 10
        page.draw_rect(pymupdf.Rect(x, top + 150 - h, x + 40, top + 150), color=(0, 0, 1), fill=(0.3, 0.5, 0.9))
        text(x + 12, top + 145 - h, str(value), 8)
        text(x, top + 165, label, 8)
    text(430, top + 60, "47%", 8)


def test_pdf_chart_under_section_six_is_not_its_text(tmp_path):
    texts = _texts(_cjk_pdf(tmp_path / "chart.pdf", _bar_chart))
    assert _nfkc(texts["text.other"].value) == _nfkc(OTHER)
    assert texts["text.other"].confidence >= 0.9


def test_pdf_uncertain_tail_is_kept_and_flagged(tmp_path):
    def caption(page, text, top):
        text(60, top, "扫码查看报告全文", 10.5)
    other = _texts(_cjk_pdf(tmp_path / "tail.pdf", caption))["text.other"]
    assert _nfkc(other.value) == _nfkc(OTHER + "\n扫码查看报告全文")
    assert other.confidence < 0.7
    assert "扫码查看报告全文" in other.prov.note and "after its last sentence" in other.prov.note


def test_pdf_signature_and_date_close_the_report_not_section_six(tmp_path):
    def signature(page, text, top):
        text(360, top, "某某区人民政府办公室", 10.5)
        text(360, top + 20, "2024年1月20日", 10.5)
    other = _texts(_cjk_pdf(tmp_path / "signed.pdf", signature))["text.other"]
    assert _nfkc(other.value) == _nfkc(OTHER) and other.confidence >= 0.9


def _picture() -> bytes:
    image = Image.new("RGB", (240, 160))
    image.putdata([(x % 256, (x * 3) % 256, 120) for x in range(240 * 160)])
    buf = io.BytesIO()
    image.save(buf, "PNG")
    return buf.getvalue()


def test_docx_ocr_residue_of_a_picture_is_removed_and_the_sentence_rejoined(tmp_path, monkeypatch):
    monkeypatch.setenv("NIANBAO_OCR", "off")
    doc = DocxDocument()
    doc.add_paragraph("某某区人民政府2023年政府信息公开工作年度报告")
    for heading in HEADINGS:
        doc.add_paragraph(heading)
        if heading.startswith("一"):
            # A converter's OCR of a photo pasted mid-sentence, as runs beside the picture.
            p = doc.add_paragraph("组织相关部门梳理政府信息，逐项认定公")
            p.add_run().add_picture(io.BytesIO(_picture()), width=Cm(4))
            p.add_run("BR | XERT | =@ | BEEAF | RS | HEAHF | Ex")
            p.add_run("开属性，编制政务公开事项标准目录。")
            doc.add_paragraph("Bl X BT =8 g5 Eea/A [FIEL T& X1 NEAR")
            doc.add_paragraph("| Ee | | a |")
            doc.add_paragraph(OVERVIEW)
        elif heading.startswith("五"):
            doc.add_paragraph(PROBLEMS)
        elif heading.startswith("六"):
            doc.add_paragraph(OTHER)
            doc.add_paragraph("AERA ih Eh")
    path = tmp_path / "ocr.docx"
    doc.save(path)
    texts = _texts(path)
    assert texts["text.overview"].value == ("组织相关部门梳理政府信息，逐项认定公开属性，编制政务公开事项标准目录。\n"
                                            + OVERVIEW)
    assert texts["text.other"].value == OTHER


def test_real_last_lines_are_kept_whole(tmp_path):
    # A last paragraph without its full stop, a contact sentence with `label：value` in it, a
    # numbered sub-heading and a URL: all the section's own.
    last = ["（二）改进措施", "联系电话：0898-12345678，地址：某某区人民路1号。",
            "报告电子版见区政府门户网站（http://www.example.gov.cn/zwgk/index.html）",
            "无其他需要报告的事项"]
    body = _report_body("".join(f"<p>{t}</p>" for t in last))
    html = FOOTER_HTML5.format(body=body)
    other = _texts(_page(tmp_path, "c.html", html))["text.other"]
    assert other.value == "\n".join([OTHER] + last)


@pytest.mark.parametrize("line,kind", [
    ("京ICP备05070218号", "end"), ("京公网安备 11010202000001号", "end"), ("网站标识码：bm01000001", "end"),
    ("Copyright © 2024 某某区人民政府 All Rights Reserved", "end"), ("建议使用1920×1080分辨率浏览本网站", "end"),
    ("发布时间：2024-01-15  来源：本站  浏览次数：1234", "end"),
    ("依申请公开信息答复情况 (17件)", "residue"), ("47%", "residue"), ("予以公开 部分公开 不予公开", "residue"),
    ("【打印】【关闭】", "residue"), ("BR | XERT | =@ | BEEAF", "residue"),
    ("本年度网站浏览次数达341.9万次，发布信息1.2万条。", "text"), ("（一）", "text"),
    ("联系电话：0898-12345678，地址：某某区人民路1号。", "text"),
])
def test_line_kinds(line, kind):
    assert line_kind(line) == kind


def test_a_page_whose_later_part_holds_headings_keeps_its_sections(tmp_path):
    # Word's web page: WordSection1 holds most of the text, WordSection2 the last sections. The
    # article found is the first part; the headings in the second show that it is the report.
    long_text = "".join(f"<p>{OVERVIEW * 3}</p>" for _ in range(8))
    html = ('<html><head><meta charset="utf-8"></head><body><div class="WordSection1">'
            "<p>某某区人民政府2023年政府信息公开工作年度报告</p><p>一、总体情况</p>" + long_text
            + "</div><div class=\"WordSection2\"><p>五、存在的主要问题及改进情况</p>"
            f"<p>{PROBLEMS}</p><p>六、其他需要报告的事项</p><p>无其他需要报告的事项</p></div></body></html>")
    texts = _texts(_page(tmp_path, "word.html", html))
    assert texts["text.problems"].value == PROBLEMS
    assert texts["text.other"].value == "无其他需要报告的事项"
    assert texts["text.other"].confidence >= 0.9


def test_docx_closing_parts_end_the_last_section(tmp_path):
    # After the body of an official document: the attachment note, the body's name over the
    # date, a note in brackets (GB/T 9704's order).
    doc = DocxDocument()
    doc.add_paragraph("某某区人民政府2023年政府信息公开工作年度报告")
    for heading in HEADINGS:
        doc.add_paragraph(heading)
        if heading.startswith("六"):
            for line in (OTHER, "附件：1.某某区2023年政府信息公开工作年度报告（图解）", "某某区人民政府",
                         "2024年1月25日", "（此件公开发布）"):
                doc.add_paragraph(line)
    path = tmp_path / "closing.docx"
    doc.save(path)
    other = _texts(path)["text.other"]
    assert other.value == OTHER and other.confidence >= 0.9
