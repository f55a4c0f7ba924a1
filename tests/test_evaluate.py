"""Evaluation numbers on small hand-made gold/prediction pairs."""

from __future__ import annotations

import json

import pytest

from conftest import run_cli
from extractors.evaluate import evaluate, load_gold, load_predictions, same_value
from extractors.result import DocumentResult, ReviewItem, RuleResult

GOLD_FIELDS = {
    "meta.agency": "万宁市人民政府",
    "meta.year": 2020,
    "active.procurement.amount": 25.1,
    "requests.new.total": 7,
    "requests.granted.total": 7,
    "review.total": None,
    "text.overview": "本年度，我市认真贯彻落实《条例》。\n主动公开政府信息1200条。",
}


def _gold(name="a.pdf", fields=None, source_errors=()):
    return {"document": name, "template": "2019", "fields": dict(fields or GOLD_FIELDS),
            "source_errors": list(source_errors)}


def _pred(name="a.pdf", changes=None, flagged=(), rules=(), fmt="pdf"):
    fields = {**GOLD_FIELDS, **(changes or {})}
    return DocumentResult(document=name, sha256="x", extractor_version="t", format=fmt,
                          template="2019", fields=fields,
                          review=[ReviewItem(field=k, reason="doubt") for k in flagged],
                          rules=list(rules))


def _fail(rule, fields, blame="source"):
    return RuleResult(rule=rule, scope="s", status="fail", blame=blame, fields=fields)


def test_all_right():
    report = evaluate({"a.pdf": _gold()}, {"a.pdf": _pred(flagged=["meta.year"])})
    assert report["accuracy"] == 1 and report["wrong"] == 0
    assert report["review_recall"] is None  # nothing wrong to find
    assert report["review_burden"] == pytest.approx(1 / 7)
    assert report["unflagged_accuracy"] == 1


def test_one_wrong_unflagged_field_lowers_recall():
    pred = _pred(changes={"requests.new.total": 8, "requests.granted.total": 9},
                 flagged=["requests.granted.total"])
    report = evaluate({"a.pdf": _gold()}, {"a.pdf": pred})
    assert report["wrong"] == 2
    assert report["accuracy"] == pytest.approx(5 / 7)
    assert report["review_recall"] == pytest.approx(1 / 2)
    assert report["unflagged_accuracy"] == pytest.approx(5 / 6)
    assert report["by_section"]["requests"] == {"right": 0, "total": 2, "accuracy": 0}
    assert report["by_section"]["meta"]["accuracy"] == 1
    wrong = report["per_document"]["a.pdf"]["wrong"]
    assert {"key": "requests.new.total", "gold": 7, "pred": 8, "flagged": False} in wrong


@pytest.mark.parametrize("key,gold,pred,right", [
    ("active.procurement.amount", 25.1, 25.10, True),
    ("active.procurement.amount", 25.1, "25.10", True),
    ("requests.new.total", 7, 7.0, True),
    ("requests.new.total", None, None, True),
    ("requests.new.total", None, 0, False),
    ("requests.new.total", 0, None, False),
    ("meta.agency", "万宁市人民政府", "万宁市 人民政府", False),
    ("meta.agency", "万宁市人民政府", " 万宁市人民政府\n", True),
    ("text.overview", "一二三四五六七八九十" * 3, "一二三四五六七八九十" * 3 + "多", True),
    ("text.overview", "一二三四五六七八九十" * 3, "一二三  四五六\n七八九十" * 3, True),
    ("text.overview", "一二三四五六七八九十", "一二三四五", False),
    ("text.overview", "一二三", None, False),
])
def test_same_value(key, gold, pred, right):
    assert same_value(key, gold, pred) is right


def test_missing_documents_are_reported_apart_from_wrong_fields():
    pred = _pred(changes={"meta.year": 2019})
    report = evaluate({"a.pdf": _gold(), "b.pdf": _gold("b.pdf")}, {"a.pdf": pred})
    assert report["documents"]["missing"] == ["b.pdf"] and report["documents"]["predicted"] == 1
    assert report["missing_fields"] == 7 and report["fields"] == 7 and report["wrong"] == 1
    assert report["accuracy"] == pytest.approx(6 / 7)  # over what was predicted
    assert report["accuracy_all_gold"] == pytest.approx(6 / 14)  # the missing document's fields wrong
    assert set(report["by_format"]) == {"pdf"}
    assert report["review_recall"] == 0  # the one wrong field, unflagged; the missing ones are not in it
    assert report["per_document"]["b.pdf"] == {"status": "missing", "format": "(none)", "fields": 7,
                                               "wrong": []}


def test_a_prediction_under_another_name_is_matched_by_content():
    gold = _gold()
    gold["sha256"] = "c" * 64
    pred = _pred(name="cccc.pdf").model_copy(update={"sha256": "c" * 64})
    report = evaluate({"a.pdf": gold, "b.pdf": _gold("b.pdf")}, {"cccc.pdf": pred, "b.pdf": _pred("b.pdf")})
    assert report["documents"]["matched_by"] == {"content": 1, "name": 1}
    assert report["per_document"]["a.pdf"]["prediction"] == "cccc.pdf"
    assert report["documents"]["without_gold"] == [] and report["accuracy"] == 1


def test_by_format_uses_the_prediction_format():
    report = evaluate({"a.pdf": _gold(), "b.doc": _gold("b.doc")},
                      {"a.pdf": _pred(), "b.doc": _pred("b.doc", {"meta.year": 2021}, fmt="docx")})
    assert report["by_format"]["docx"] == {"right": 6, "total": 7, "accuracy": pytest.approx(6 / 7)}
    assert report["by_format"]["pdf"]["accuracy"] == 1


def test_source_errors_found_missed_and_false_alarms():
    gold = _gold(source_errors=[
        {"rule": "X1", "fields": ["requests.granted.total"], "note": "prose 8, table 7"},
        {"rule": "R4", "fields": ["review.total", "review.upheld"], "note": ""},
        {"rule": "R1", "fields": ["requests.new.natural"], "note": ""},
    ])
    pred = _pred(rules=[
        _fail("X1", ["requests.granted.total"]),                  # found
        _fail("R4", ["review.total"], blame="extraction"),          # right rule, wrong blame
        _fail("R1", ["requests.new.total"]),                       # no common field: alarm
        _fail("R3", ["requests.granted.total"], blame="extraction"),  # matches nothing: alarm
        RuleResult(rule="R2", scope="s", status="pass", fields=["requests.total.total"]),
    ])
    report = evaluate({"a.pdf": gold}, {"a.pdf": pred})
    src = report["source_errors"]
    assert (src["found"], src["expected"]) == (1, 3)
    assert [m["rule"] for m in src["missed"]] == ["R4", "R1"]
    assert [(a["rule"], a["blame"]) for a in src["false_alarms"]] == [("R1", "source"),
                                                                    ("R3", "extraction")]


def test_loading_and_cli(tmp_path):
    gold_dir, pred_dir = tmp_path / "gold", tmp_path / "pred"
    gold_dir.mkdir()
    pred_dir.mkdir()
    (gold_dir / "a.json").write_text(json.dumps(_gold(), ensure_ascii=False), encoding="utf-8")
    pred = _pred(changes={"meta.year": 2019})
    (pred_dir / "a.pdf.json").write_text(pred.model_dump_json(), encoding="utf-8")
    (pred_dir / "copy~1.json").write_text(pred.model_dump_json(), encoding="utf-8")
    (pred_dir / "summary.json").write_text('{"generator": "nianbao extract"}')
    assert list(load_gold(gold_dir)) == ["a.pdf"]
    preds, warnings = load_predictions(pred_dir)
    assert list(preds) == ["a.pdf"]
    assert len(warnings) == 1 and "second result" in warnings[0]

    code, stdout = run_cli(["eval", "--gold", str(gold_dir), "--pred", str(pred_dir),
                            "--json", str(tmp_path / "r.json"), "--verbose"])
    assert code == 0
    report = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert report["wrong"] == 1 and report["review_recall"] == 0
    assert "meta.year" in stdout and "review recall: 0.0%" in stdout


def test_cli_rejects_missing_folders(tmp_path, capsys):
    code, _ = run_cli(["eval", "--gold", str(tmp_path / "nope"), "--pred", str(tmp_path)])
    assert code == 2
    assert "no such folder" in capsys.readouterr().err


def _run_folder(tmp_path):
    """A report with its gold beside it (docs/gold/), and a `run` output folder whose
    documents/ name the report by its hash, as the raw store does."""
    from extractors.pipeline import sha256_of

    docs = tmp_path / "docs"
    (docs / "gold").mkdir(parents=True)
    (docs / "a.pdf").write_bytes(b"%PDF-1.7 a report")
    (docs / "gold" / "a.json").write_text(json.dumps(_gold(), ensure_ascii=False), encoding="utf-8")
    sha = sha256_of(docs / "a.pdf")
    out = tmp_path / "run"
    (out / "documents").mkdir(parents=True)
    (out / "run.json").write_text('{"generator": "nianbao run"}')
    pred = _pred(name=f"{sha}.pdf", changes={"meta.year": 2019}).model_copy(update={"sha256": sha})
    (out / "documents" / f"{sha}.pdf.json").write_text(pred.model_dump_json(), encoding="utf-8")
    return docs, out


def test_eval_of_a_run_folder_matches_its_hash_named_documents(tmp_path):
    docs, out = _run_folder(tmp_path)
    code, stdout = run_cli(["eval", "--gold", str(docs / "gold"), "--pred", str(out),
                            "--json", str(tmp_path / "r.json")])
    assert code == 0, stdout
    report = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert report["documents"]["predicted"] == 1 and report["documents"]["matched_by"] == {"content": 1}
    assert report["wrong"] == 1 and report["accuracy"] == pytest.approx(6 / 7)
    assert "1 predicted (1 by content)" in stdout


def test_each_figure_says_what_it_means(tmp_path, capsys):
    docs, out = _run_folder(tmp_path)
    (docs / "a.pdf").write_bytes(b"another file now")  # no longer matches: nothing predicted
    code, stdout = run_cli(["eval", "--gold", str(docs / "gold"), "--pred", str(out)])
    assert code == 1 and "no gold document has a prediction" in capsys.readouterr().err
    code, stdout = run_cli(["eval", "--gold", str(docs / "gold"), "--pred", str(out / "documents")])
    lines = stdout.splitlines()
    for start, meaning in (("accuracy over all gold:", "missing document's fields count as wrong"),
                           ("  read by", "absent: found nowhere, read as null"),
                           ("review recall:", "—: none is wrong"),
                           ("review burden:", "flagged fields / all fields"),
                           ("unflagged accuracy:", "fields not flagged"),
                           ("false alarms:", "match no gold source error")):
        assert any(line.startswith(start) and meaning in line for line in lines), start
