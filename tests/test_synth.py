"""The synthetic report generator: gold obeys the rules unless errors were injected, every
injected error is listed, and each renderer's file holds what the gold says."""

from __future__ import annotations

import io
import json
import re
import unicodedata
from collections import Counter

import docx
import fitz
import pytest

from extractors.standard_model import (
    APPEAL_COLUMNS, APPEAL_GROUPS, APPEAL_PARTS, APPLICANT_COLUMNS, APPLICANTS, CHANGE_KEYS,
    REQUEST_ROWS, RESULT_ROWS, field_keys,
)
from extractors.synth import FORMATS, generate
from extractors.synth.__main__ import main
from extractors.synth.errors import ERROR_RULES
from extractors.synth.layout import Layout, format_value

TEMPLATES = ("2019", "2021")


def nfkc(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


def rule_failures(fields: dict, template: str) -> Counter:
    """An independent count of R1–R4 and R6 failures (null counts as 0)."""
    def n(key: str) -> float:
        return fields[key] or 0

    failed: Counter = Counter()
    req = "requests.{}.{}".format
    for c in APPLICANT_COLUMNS:
        failed["R1"] += (n(req("new", c)) + n(req("carried", c))
                         != n(req("total", c)) + n(req("carry_forward", c)))
        failed["R2"] += n(req("total", c)) != sum(n(req(r, c)) for r in RESULT_ROWS[template])
    for r in REQUEST_ROWS[template]:
        failed["R3"] += n(req(r, "total")) != sum(n(req(r, c)) for c in APPLICANTS)
    for g in APPEAL_GROUPS:
        failed["R4"] += n(f"{g}.total") != sum(n(f"{g}.{p}") for p in APPEAL_PARTS)
    for key, value in fields.items():
        numeric = key.split(".")[0] not in ("meta", "text")
        failed["R6"] += numeric and key not in CHANGE_KEYS and value is not None and value < 0
    return +failed


def listed(gold: dict) -> Counter:
    return Counter(e["rule"] for e in gold["source_errors"])


# -- gold --------------------------------------------------------------------------------

@pytest.mark.parametrize("template", TEMPLATES)
@pytest.mark.parametrize("fmt", FORMATS)
def test_gold_has_every_key_in_spec_format(template, fmt):
    doc = generate(11, template, fmt)
    gold = doc.gold
    assert set(gold) == {"document", "template", "fields", "source_errors"}
    assert gold["document"] == doc.name and doc.name.endswith(f".{fmt}")
    assert gold["template"] == template == gold["fields"]["meta.template"]
    assert tuple(gold["fields"]) == field_keys(template)
    json.dumps(gold)  # serialisable as is
    year = gold["fields"]["meta.year"]
    assert year in ((2019, 2020) if template == "2019" else range(2021, 2026))


@pytest.mark.parametrize("template", TEMPLATES)
def test_clean_reports_satisfy_every_rule(template):
    seen_null = seen_big = False
    for seed in range(40):
        doc = generate(seed, template, "txt")
        fields = doc.gold["fields"]
        assert rule_failures(fields, template) == Counter(), seed
        assert doc.gold["source_errors"] == []
        for claim in doc.claims:  # X1: the prose restates the table
            assert claim.value == sum(fields[k] or 0 for k in claim.fields)
        seen_null |= any(v is None for k, v in fields.items() if k.startswith("requests."))
        seen_big |= (fields["requests.new.total"] or 0) >= 100
    assert seen_null and seen_big  # blank cells and busy agencies both occur


@pytest.mark.parametrize("rule", ERROR_RULES)
def test_each_injected_error_is_listed(rule):
    template = "2019" if rule == "R5" else "2021"
    for seed in range(8):
        doc = generate(seed, template, "txt", errors=[rule], change_style="count",
                       active="single")
        gold, fields = doc.gold, doc.gold["fields"]
        assert rule in listed(gold)
        counted = rule_failures(fields, template)
        assert counted == Counter({r: k for r, k in listed(gold).items() if r not in ("R5", "X1")})
        for error in gold["source_errors"]:
            assert error["fields"] and set(error["fields"]) <= set(fields)
            assert error["note"]
        if rule == "R5":  # the dump prints a count that prev + change does not reach
            (error,) = [e for e in gold["source_errors"] if e["rule"] == "R5"]
            (change_key,) = error["fields"]
            prev, change = fields[change_key.replace(".change", ".prev")], fields[change_key]
            word = "增" if change > 0 else "减"
            counts = re.findall(rf"\t(\d+)（{word}{abs(change)}）", doc.data.decode())
            assert counts and str(prev + change) not in counts
        for claim in doc.claims:
            if claim.value != sum(fields[k] or 0 for k in claim.fields):
                assert any(e["rule"] == "X1" and set(e["fields"]) <= set(claim.fields)
                           for e in gold["source_errors"])
                assert f"{claim.label}{claim.value}" in fields["text.overview"]


def test_random_errors_are_all_listed():
    injected = Counter()
    for seed in range(30):
        doc = generate(seed, TEMPLATES[seed % 2], "txt", errors=True)
        assert doc.injected and set(doc.injected) <= set(listed(doc.gold))
        injected.update(doc.injected)
    assert len(injected) >= 5


def test_a_lone_cell_breaks_both_its_row_and_its_column():
    doc = generate(3, "2021", "txt", errors=["R3"])
    errors = doc.gold["source_errors"]
    (cell,) = {f for e in errors for f in e["fields"]}
    rules = {e["rule"] for e in errors}
    assert "R3" in rules and rules & {"R1", "R2"}
    assert doc.gold["fields"][cell] is not None  # the perturbed value, as printed


# -- text dump ---------------------------------------------------------------------------

def table_rows(text: str) -> list[list[str]]:
    """Rows of the seeds' dump format: a row starts after a blank line; a cell line starts
    with TAB; untabbed lines continue the previous cell."""
    rows: list[list[str]] = []
    current: list[str] | None = None
    for line in text.split("\n"):
        if not line:
            current = None
        elif line.startswith("\t"):
            if current is None:
                current = []
                rows.append(current)
            current.append(line[1:])
        elif current:
            current[-1] += line
    return rows


@pytest.mark.parametrize("template", TEMPLATES)
def test_text_dump_rows_hold_the_gold_values(template):
    for seed in range(6):
        doc = generate(seed, template, "txt", fullwidth=False, broken_labels=True)
        fields, layout = doc.gold["fields"], doc.layout
        rows = table_rows(doc.data.decode("utf-8"))
        for key in ("new", "carried", "carry_forward"):
            (row,) = [r for r in rows if re.search(r"本年新收|上年[结转]{2}|下年度", r[0])
                      and {"new": "新收", "carried": "上年", "carry_forward": "下年度"}[key] in r[0]]
            expected = [format_value(f"requests.{key}.{c}", fields[f"requests.{key}.{c}"],
                                     layout, None) for c in APPLICANT_COLUMNS]
            assert row[1:] == expected
        appeals = [format_value(f"{g}.{c}", fields[f"{g}.{c}"], layout, None)
                   for g in APPEAL_GROUPS for c in APPEAL_COLUMNS]
        assert appeals in rows
        lines = doc.data.decode("utf-8").split("\n")
        for paragraph in fields["text.overview"].split("\n"):
            assert any(line.strip() == paragraph for line in lines)


def test_text_dump_layout_variants():
    doc = generate(5, "2019", "txt", spaced_labels=True, carry_typo=True, fee_typo=True,
                   number_sep="、", noise=("overview", "end"), change_style="signed",
                   money_style="yuan")
    text, fields = doc.data.decode("utf-8"), doc.gold["fields"]
    assert "三、本 年 度 办 理 结 果" in text and "上年转结" in text and "行业事业性收费" in text
    assert "\t1、属于国家秘密" in text
    noise = [b for b in ("Sheet1", "BR | XERT | =@ | BEEAF", "图表 1", "=ENE") if b in text]
    assert noise and not any(n in fields["text.overview"] + fields["text.other"] for n in noise)
    for key in CHANGE_KEYS:
        if fields[key] and fields[key] > 0:
            assert f"\t+{fields[key]}\n" in text
    amount = fields["active.procurement.amount"]
    if amount:
        assert f"\t{round(amount * 10000)}元\n" in text


def test_missing_active_table_and_unnamed_agency():
    named = generate(8, "2021", "txt", title="inline").gold["fields"]["meta.agency"]
    doc = generate(8, "2021", "txt", active="missing", title="none")
    text, fields = doc.data.decode("utf-8"), doc.gold["fields"]
    assert all(v is None for k, v in fields.items() if k.startswith("active."))
    assert "主动公开政府信息" in text and "第二十条" not in text
    assert fields["meta.agency"] is None and named not in text
    assert f"{named}{fields['meta.year']}年" in generate(8, "2021", "txt", title="inline").data.decode()


def test_value_formats():
    layout = Layout(change_style="count", money_style="wan", fullwidth=True, empty_mark="—")

    class AlwaysLow:
        def random(self):
            return 0.0

    assert format_value("active.licensing.change", -18, layout, AlwaysLow(), 252) == "252（减18）"
    assert format_value("active.licensing.change", 19, layout, AlwaysLow(), 1083) == "1083（增19）"
    assert format_value("active.procurement.amount", 182.32, layout, AlwaysLow()) == "182.32万元"
    assert format_value("active.procurement.amount", 25.1, Layout(money_style="yuan"),
                        AlwaysLow()) == "251000元"
    assert format_value("requests.new.total", 12, layout, AlwaysLow()) == "１２"
    assert format_value("requests.new.total", None, layout, AlwaysLow()) == "—"
    assert format_value("active.fees.change", 8, Layout(change_style="signed"), None) == "+8"


# -- HTML, DOCX, PDF ---------------------------------------------------------------------

@pytest.mark.parametrize("charset", ["utf-8", "gbk", "gb2312", "none-gbk", "none-utf-8"])
def test_html_decodes_with_its_declared_charset(charset):
    doc = generate(21, "2019", "html", charset=charset, chrome=True, broken_labels=True,
                   fullwidth=False, title="inline")
    declared = re.search(rb'charset="?([\w-]+)', doc.data)
    if charset.startswith("none"):
        assert declared is None
        page = doc.data.decode(charset.removeprefix("none-"))
    else:
        assert declared and declared.group(1).decode() == charset
        page = doc.data.decode(declared.group(1).decode())
    fields = doc.gold["fields"]
    assert fields["meta.agency"] in page
    assert "首页 &gt; 政务公开 &gt; 年度报告" in page
    assert 'rowspan="3" colspan="3"' in page and 'colspan="10">行政诉讼' in page
    assert "<br>" in page
    assert f"<td>{fields['requests.new.total']}</td>" in page
    assert page.count("<table") == (0 if doc.layout.active == "missing" else
                                    1 if doc.layout.active == "single" else 5) + 2 + doc.layout.stats_table


def test_docx_has_merged_cells_and_values():
    doc = generate(4, "2021", "docx", fullwidth=False)
    document = docx.Document(io.BytesIO(doc.data))
    xml = document.element.xml
    assert "w:gridSpan" in xml and 'w:vMerge w:val="restart"' in xml
    fields = doc.gold["fields"]
    requests = next(t for t in document.tables if "申请人情况" in t.rows[0].cells[-1].text)
    new_row = next(r for r in requests.rows if "本年新收" in r.cells[0].text)
    assert [c.text for c in new_row.cells[3:]] == [
        format_value(f"requests.new.{c}", fields[f"requests.new.{c}"], doc.layout, None)
        for c in APPLICANT_COLUMNS]
    text = "\n".join(p.text for p in document.paragraphs)
    assert fields["text.problems"].split("\n")[0] in text


def test_pdf_text_layer_and_tables():
    spans = 0
    for seed in range(4):
        doc = generate(seed, ("2019", "2021")[seed % 2], "pdf", title="inline", fullwidth=False,
                       repeat_header=True, stats_table=True, active="single")
        pdf = fitz.open(stream=doc.data, filetype="pdf")
        assert all(round(p.rect.width) == 595 and round(p.rect.height) == 842 for p in pdf)
        texts = [nfkc(p.get_text()) for p in pdf]
        fields = doc.gold["fields"]
        assert fields["meta.agency"] in texts[0]
        assert f"共收到政府信息公开申请{fields['requests.new.total']}" in "".join(texts).replace("\n", "")
        tables = [t for p in pdf for t in p.find_tables().tables]
        assert any(t.col_count == 10 for t in tables)  # table 三
        assert any(t.col_count == 15 for t in tables)  # table 四
        first = next(i for i, t in enumerate(texts) if "本年新收" in t)
        last = next(i for i, t in enumerate(texts) if "下年度继续办理" in t)
        if last > first:  # 三 went on to a new page: its header came along
            spans += 1
            assert "申请人情况" in texts[last]
    assert spans  # some table 三 does break across pages


# -- determinism and CLI -----------------------------------------------------------------

@pytest.mark.parametrize("fmt", FORMATS)
def test_same_seed_same_file(fmt):
    a, b = generate(9, "2019", fmt, errors=True), generate(9, "2019", fmt, errors=True)
    assert a.data == b.data and a.gold == b.gold
    assert generate(10, "2019", fmt).data != a.data


def test_cli_writes_reports_and_gold(tmp_path, capsys):
    assert main(["--out", str(tmp_path), "--n", "5", "--seed", "2", "--formats", "txt,html",
                 "--templates", "2021", "--error-rate", "0.5"]) == 0
    files = sorted(p for p in tmp_path.iterdir() if p.is_file())
    assert len(files) == 5 and {p.suffix for p in files} == {".txt", ".html"}
    for path in files:
        gold = json.loads((tmp_path / "gold" / f"{path.stem}.json").read_text(encoding="utf-8"))
        assert gold["document"] == path.name and gold["template"] == "2021"
        assert tuple(gold["fields"]) == field_keys("2021")
    again = tmp_path / "again"
    main(["--out", str(again), "--n", "5", "--seed", "2", "--formats", "txt,html",
          "--templates", "2021", "--error-rate", "0.5"])
    assert all((again / p.name).read_bytes() == p.read_bytes() for p in files)


def test_scanned_rendering_has_no_text_layer_and_keeps_the_pages():
    import numpy as np
    import pymupdf

    from extractors.synth.scan import ScanStyle, degrade, scan_pdf

    doc = generate(3, "2019", "pdf")
    scanned = pymupdf.open(stream=scan_pdf(doc.data, ScanStyle(dpi=150, skew=1.0, noise=6), seed=1),
                           filetype="pdf")
    original = pymupdf.open(stream=doc.data, filetype="pdf")
    assert scanned.page_count == original.page_count
    assert all(not page.get_text().strip() and page.get_images() for page in scanned)
    # a 1° skew moves a point 1 000 px from the centre by about 17 px
    image = np.full((2001, 2001), 255, np.uint8)
    image[1000, 1900] = 0
    turned = degrade(image, ScanStyle(skew=1.0), np.random.default_rng(0))
    y, x = np.unravel_index(np.argmin(turned), turned.shape)
    assert abs(x - 1900) <= 1 and 14 <= 1000 - y <= 20
