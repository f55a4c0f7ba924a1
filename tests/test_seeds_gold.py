"""The five real seed reports against their hand-checked gold labels."""

import json
from pathlib import Path

import pytest
from rapidfuzz import fuzz

from extractors.pipeline import extract_file
from extractors.standard_model import TEXT_KEYS

EVAL = Path(__file__).resolve().parent.parent / "eval"
SEEDS = sorted((EVAL / "seeds").glob("*.txt"))


def _gold(path: Path) -> dict:
    return json.loads((EVAL / "gold" / f"{path.stem}.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module", params=SEEDS, ids=[p.stem[:3] for p in SEEDS])
def seed(request):
    return _gold(request.param), extract_file(request.param)


def test_every_numeric_and_meta_field_matches_gold(seed):
    gold, result = seed
    assert result.status == "ok"
    wrong = {k: (v, result.fields.get(k)) for k, v in gold["fields"].items()
             if k not in TEXT_KEYS and result.fields.get(k) != v}
    assert wrong == {}


def test_text_sections_are_at_least_90_percent_similar(seed):
    gold, result = seed
    for key in TEXT_KEYS:
        assert fuzz.ratio(result.fields[key] or "", gold["fields"][key] or "") >= 90, key


def test_gold_source_errors_are_failed_rules_blamed_on_source(seed):
    gold, result = seed
    failures = [r for r in result.rules if r.status == "fail"]
    for error in gold["source_errors"]:
        assert any(r.rule == error["rule"] and r.blame == "source" and set(r.fields) & set(error["fields"])
                   for r in failures), error


def test_no_rule_fails_beyond_the_gold_source_errors(seed):
    gold, result = seed
    for rule in (r for r in result.rules if r.status == "fail"):
        assert any(rule.rule == e["rule"] and set(rule.fields) & set(e["fields"])
                   for e in gold["source_errors"]), rule


def test_every_failed_rule_puts_its_fields_in_the_review_queue(seed):
    _, result = seed
    flagged = {item.field for item in result.review}
    for rule in (r for r in result.rules if r.status == "fail"):
        assert set(rule.fields) <= flagged
