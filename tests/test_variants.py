"""Reports of 2021 and later that keep older pieces of the template's tables (issue 14): the
single row （六）其他处理 in 三, template 2019's items and columns in 二. Each is read by its
labels and recorded as ../shared/spec/standard-model.md says, in every format, from real
files the generator writes; eval/variants holds such reports with gold and is scored here."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from extractors.evaluate import check_document, source_error_matches
from extractors.pipeline import extract_file
from extractors.readers.text_dump import parse_text_dump
from extractors.standard_model import APPLICANT_COLUMNS, OTHER_SUBROWS
from extractors.synth import FORMATS, generate
from extractors.synth.check import violations
from extractors.template import extract_fields

VARIANTS = Path(__file__).resolve().parents[1] / "eval" / "variants"
SEED = 3  # its report handles 39 requests as 其他处理 and prints 二's fees as 0 | 3


def _flagged(result) -> set[str]:
    return {item.field for item in result.review}


def _all_right(gold: dict, result) -> None:
    wrong = [(c.key, c.gold, c.pred) for c in check_document(gold, result) if not c.right]
    assert not wrong
    found, missed, _ = source_error_matches(gold, result)
    assert not missed and len(found) == len(gold["source_errors"])


@pytest.mark.parametrize("fmt", FORMATS)
def test_older_other_row_is_recorded_as_requests_other(tmp_path, fmt):
    doc = generate(SEED, "2021", fmt, older_other=True)
    gold = doc.gold["fields"]
    assert gold["requests.other.total"] == 39  # the row holds figures, so it is worth reading
    result = extract_file(doc.write(tmp_path))
    _all_right(doc.gold, result)
    for c in APPLICANT_COLUMNS:
        assert result.fields[f"requests.other.{c}"] == gold[f"requests.other.{c}"]
        for row in OTHER_SUBROWS:  # not printed: null, and no "not found" flag
            key = f"requests.{row}.{c}"
            assert result.fields[key] is None and key not in _flagged(result)
    r2 = [r for r in result.rules if r.rule == "R2"]
    assert r2 and all(r.status == "pass" and "requests.other.total" in r.fields
                      for r in r2 if r.scope == "column total")


def test_older_other_row_breaking_r2_is_a_source_error(tmp_path):
    doc = generate(SEED, "2021", "txt", errors=("R2",), older_other=True)
    assert any(e["rule"] == "R2" for e in doc.gold["source_errors"])
    result = extract_file(doc.write(tmp_path))
    _all_right(doc.gold, result)
    assert any(r.rule == "R2" and r.status == "fail" and r.blame == "source" for r in result.rules)


@pytest.mark.parametrize("fmt", FORMATS)
def test_older_active_columns_are_read_by_their_labels(tmp_path, fmt):
    doc = generate(SEED, "2021", fmt, older_active=True, active="single" if fmt != "html" else "split")
    assert doc.printed.fields["active.fees.change"] == 3  # by position it would be the amount
    result = extract_file(doc.write(tmp_path))
    _all_right(doc.gold, result)
    assert result.fields["active.licensing.decisions"] == doc.gold["fields"]["active.licensing.decisions"] == 48
    for key in ("active.fees.amount", "active.regulations.issued", "active.normative.in_force"):
        assert result.fields[key] is None and key not in _flagged(result)
    assert "本年新制作数量" in result.provenance["active.normative.in_force"].note


def test_a_later_report_in_2019s_tables_throughout_is_template_2021(tmp_path):
    doc = generate(SEED, "2021", "docx", older_other=True, older_active=True)
    result = extract_file(doc.write(tmp_path))
    assert result.template == "2021" and result.fields["meta.year"] >= 2021
    _all_right(doc.gold, result)


def test_subtotal_row_of_group_six_beside_its_sub_rows_takes_no_field():
    title = "某某县人民政府\n2022年政府信息公开工作年度报告\n一、总体情况\n正文。\n"
    rows = ["\t（六）其他处理\n" + "\t2\n" * 6 + "\t12",
            "\t\n\t1.申请人无正当理由逾期不补正、行政机关不再处理其政府信息公开申请\n" + "\t1\n" * 6 + "\t6",
            "\t\n\t2.申请人逾期未按收费通知要求缴纳费用、行政机关不再处理其政府信息公开申请\n" + "\t0\n" * 7,
            "\t\n\t3.其他\n" + "\t1\n" * 6 + "\t6",
            "\t（七）总计\n" + "\t2\n" * 6 + "\t12"]
    doc = parse_text_dump(title + "三、收到和处理政府信息公开申请情况\n" + "\n\n".join(rows) + "\n")
    readings = extract_fields(doc).readings
    assert readings["requests.other_misc.total"].value == 6
    assert readings["requests.other_no_correction.total"].value == 6
    assert not any(k.startswith("requests.other.") for k in readings)


def test_generator_oracle_sums_the_older_row_in_r2():
    doc = generate(SEED, "2021", "txt", older_other=True)
    fields = dict(doc.gold["fields"])
    assert not violations(fields, "2021", doc.claims, {})
    fields["requests.other.natural"] += 1
    fields["requests.other.total"] += 1
    assert {v.rule for v in violations(fields, "2021", doc.claims, {})} >= {"R2"}


def test_variants_default_off_and_refused_for_template_2019():
    plain = generate(SEED, "2021", "txt")
    assert plain.data == generate(SEED, "2021", "txt", older_other=False, older_active=False).data
    assert "requests.other.total" not in plain.gold["fields"]
    with pytest.raises(ValueError):
        generate(SEED, "2019", "txt", older_other=True)


def test_eval_variants_are_read_right_with_their_source_errors():
    golds = sorted((VARIANTS / "gold").glob("*.json"))
    assert len(golds) >= 12
    for path in golds:
        gold = json.loads(path.read_text(encoding="utf-8"))
        _all_right(gold, extract_file(VARIANTS / gold["document"]))


def test_fees_in_2019s_columns_inside_a_2021_table_state_no_amount():
    """第（八）项 kept in 2019's columns (上一年项目数量 | 本年增/减) among 2021's: by position
    the 本年增/减 figure would become 本年收费金额; by its header it is no amount at all. A
    2021 header's wording (现行有效件数（历史累计）) still names its column."""
    rows = ["\t第二十条第（一）项",
            "\t信息内容\n\t本年制发件数\n\t本年废止件数\n\t现行有效件数（历史累计）",
            "\t规章\n\t0\n\t0\n\t2",
            "\t行政规范性文件\n\t5\n\t12\n\t8",
            "\t第二十条第（八）项",
            "\t信息内容\n\t上一年项目数量\n\t本年增/减",
            "\t行政事业性收费\n\t4\n\t-1"]
    doc = parse_text_dump("某某区人民政府办公室2022年政府信息公开工作年度报告\n一、总体情况\n正文。\n"
                          "二、主动公开政府信息情况\n" + "\n\n".join(rows) + "\n")
    readings = extract_fields(doc).readings
    assert readings["active.normative.repealed"].value == 12
    assert readings["active.normative.in_force"].value == 8
    fee = readings["active.fees.amount"]
    assert fee.value is None and fee.confidence >= 0.9 and "上一年项目数量" in fee.prov.note
