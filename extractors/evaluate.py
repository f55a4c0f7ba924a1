"""Score per-document results against gold labels (the spec's gold format).

    report = evaluate(load_gold(gold_dir), load_predictions(pred_dir))
    print(format_report(report, verbose=True))

A field is right when the prediction equals the gold value: numbers as numbers (25.1 ==
25.10), null only equals null, and `text.*` fields by similarity ≥ 0.9 after whitespace is
normalised. A gold document without a prediction has every field wrong.
"""

from __future__ import annotations

import json
import math
import unicodedata
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError
from rapidfuzz import fuzz

from .result import DocumentResult
from .standard_model import section_of

TEXT_SIMILARITY = 0.9
SECTIONS = ("meta", "active", "requests", "appeals", "text")
NO_PREDICTION = "(none)"  # the format column of a gold document nobody predicted


@dataclass
class FieldCheck:
    key: str
    gold: object
    pred: object
    right: bool
    flagged: bool
    method: str = "none"  # how the prediction was read (FieldProvenance.method): table, llm, ...


# -- loading ----------------------------------------------------------------------------

def load_gold(folder: Path) -> dict[str, dict]:
    """Gold labels keyed by `document`."""
    gold = {}
    for path in sorted(Path(folder).glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict) or not isinstance(data.get("fields"), dict):
            raise ValueError(f"{path}: not a gold file (no `fields` mapping)")
        data.setdefault("document", path.stem)
        gold[data["document"]] = data
    return gold


def load_predictions(folder: Path) -> tuple[dict[str, DocumentResult], list[str]]:
    """Per-document results keyed by `document`, and warnings about files skipped: JSON that
    is not a result (the run summary, say) and second results for the same document."""
    preds: dict[str, DocumentResult] = {}
    warnings = []
    for path in sorted(Path(folder).glob("*.json")):
        try:
            result = DocumentResult.model_validate_json(path.read_bytes())
        except ValidationError:
            if path.name != "summary.json":
                warnings.append(f"{path.name}: not a per-document result, skipped")
            continue
        if result.document in preds:
            warnings.append(f"{path.name}: a second result for {result.document}, skipped")
            continue
        preds[result.document] = result
    return preds, warnings


# -- comparing --------------------------------------------------------------------------

def _number(value) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
        return number if math.isfinite(number) else None
    return None


def _normalise(text: str) -> str:
    return " ".join(text.split())


def same_value(key: str, gold, pred) -> bool:
    if gold is None or pred is None:
        return gold is None and pred is None
    if key.startswith("text."):
        return fuzz.ratio(_normalise(str(gold)), _normalise(str(pred))) / 100 >= TEXT_SIMILARITY
    g, p = _number(gold), _number(pred)
    if g is not None and p is not None:
        return math.isclose(g, p, rel_tol=0, abs_tol=1e-9)
    return _normalise(str(gold)) == _normalise(str(pred))


def check_document(gold: dict, pred: DocumentResult | None) -> list[FieldCheck]:
    if pred is None:
        return [FieldCheck(k, v, None, False, False) for k, v in gold["fields"].items()]
    flagged = {item.field for item in pred.review}
    return [FieldCheck(k, v, pred.fields.get(k), same_value(k, v, pred.fields.get(k)), k in flagged,
                       pred.provenance[k].method if k in pred.provenance else "none")
            for k, v in gold["fields"].items()]


def source_error_matches(gold: dict, pred: DocumentResult | None) -> tuple[list[dict], list[dict], list[dict]]:
    """(gold entries found, gold entries missed, failures the prediction reports that match
    no gold entry). A failure matches an entry when the rule is the same and they share a
    field; it finds the entry only if it also blames the source."""
    failures = [r for r in (pred.rules if pred else []) if r.status == "fail"]
    found, missed = [], []
    for entry in gold.get("source_errors", []):
        keys = set(entry.get("fields", []))
        hit = any(r.rule == entry["rule"] and r.blame == "source" and keys & set(r.fields)
                  for r in failures)
        (found if hit else missed).append(entry)
    false_alarms = [
        {"rule": r.rule, "scope": r.scope, "blame": r.blame, "fields": r.fields, "detail": r.detail}
        for r in failures
        if not any(r.rule == e["rule"] and set(e.get("fields", [])) & set(r.fields)
                   for e in gold.get("source_errors", []))]
    return found, missed, false_alarms


# -- scoring ----------------------------------------------------------------------------

def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _tally(checks: list[FieldCheck]) -> dict:
    right = sum(c.right for c in checks)
    return {"right": right, "total": len(checks), "accuracy": _share(right, len(checks))}


def evaluate(gold: dict[str, dict], preds: dict[str, DocumentResult]) -> dict:
    checks: list[FieldCheck] = []
    by_format: dict[str, list[FieldCheck]] = defaultdict(list)
    per_document = {}
    source = {"expected": 0, "found": 0, "missed": [], "false_alarms": []}
    for name in sorted(gold):
        pred = preds.get(name)
        doc_checks = check_document(gold[name], pred)
        checks += doc_checks
        fmt = (pred.format or "unknown") if pred else NO_PREDICTION
        by_format[fmt] += doc_checks
        found, missed, alarms = source_error_matches(gold[name], pred)
        source["expected"] += len(found) + len(missed)
        source["found"] += len(found)
        source["missed"] += [{"document": name, **e} for e in missed]
        source["false_alarms"] += [{"document": name, **a} for a in alarms]
        per_document[name] = {
            "status": pred.status if pred else "missing", "format": fmt,
            "fields": len(doc_checks),
            "wrong": [{"key": c.key, "gold": c.gold, "pred": c.pred, "flagged": c.flagged}
                      for c in doc_checks if not c.right]}

    wrong = [c for c in checks if not c.right]
    flagged = [c for c in checks if c.flagged]
    unflagged = [c for c in checks if not c.flagged]
    by_section, by_method = defaultdict(list), defaultdict(list)
    for c in checks:
        by_section[section_of(c.key)].append(c)
        by_method[c.method].append(c)
    return {
        "documents": {"gold": len(gold), "predicted": sum(n in preds for n in gold),
                      "missing": sorted(n for n in gold if n not in preds),
                      "without_gold": sorted(n for n in preds if n not in gold)},
        "fields": len(checks),
        "wrong": len(wrong),
        "flagged": len(flagged),
        "accuracy": _share(len(checks) - len(wrong), len(checks)),
        "by_section": {s: _tally(by_section[s]) for s in SECTIONS if by_section[s]},
        "by_format": {f: _tally(c) for f, c in sorted(by_format.items())},
        # how each field was read: `llm` is the LLM path's own accuracy, with what it left unflagged
        "by_method": {m: {**_tally(c), "unflagged": _tally([x for x in c if not x.flagged])}
                      for m, c in sorted(by_method.items())},
        "unflagged_accuracy": _tally(unflagged)["accuracy"],
        "review_recall": _share(sum(c.flagged for c in wrong), len(wrong)),
        "review_burden": _share(len(flagged), len(checks)),
        "source_errors": source,
        "per_document": per_document,
    }


# -- showing ----------------------------------------------------------------------------

def _pct(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.1f}%"


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    """Cut and pad to `width` terminal columns (CJK characters take two)."""
    if _width(text) > width:
        text = text[:width]  # every character takes at least one column
        while _width(text) > width - 1:
            text = text[:-1]
        text += "…"
    return text + " " * (width - _width(text))


def _cell(value, width: int) -> str:
    return _pad("null" if value is None else json.dumps(value, ensure_ascii=False), width)


def format_report(report: dict, verbose: bool = False) -> str:
    docs = report["documents"]
    lines = [f"documents: {docs['gold']} gold, {docs['predicted']} predicted"
             + (f", missing: {', '.join(docs['missing'])}" if docs["missing"] else "")
             + (f"; {len(docs['without_gold'])} predictions without gold" if docs["without_gold"] else ""),
             f"fields: {report['fields']}, wrong: {report['wrong']}, flagged: {report['flagged']}",
             f"accuracy: {_pct(report['accuracy'])}"]
    for title, table in (("by section", report["by_section"]), ("by format", report["by_format"]),
                         ("read by", report["by_method"])):
        lines.append(f"  {title}:")
        lines += [f"    {name:<10} {_pct(t['accuracy']):>7}  ({t['right']}/{t['total']})"
                  + (f"; unflagged {_pct(t['unflagged']['accuracy'])} ({t['unflagged']['right']}/"
                     f"{t['unflagged']['total']})" if "unflagged" in t else "")
                  for name, t in table.items()]
    src = report["source_errors"]
    lines += [f"unflagged accuracy: {_pct(report['unflagged_accuracy'])}",
              f"review recall: {_pct(report['review_recall'])}  (wrong fields that are flagged)",
              f"review burden: {_pct(report['review_burden'])}  (flagged fields / all fields)",
              f"source errors found: {src['found']}/{src['expected']}",
              f"false alarms: {len(src['false_alarms'])}"]
    lines += [f"  {a['document']}: {a['rule']} {a['scope']} (blame {a['blame']}) {a['detail']}"
              for a in src["false_alarms"]]
    if verbose:
        lines += [f"  missed: {m['document']}: {m['rule']} {', '.join(m.get('fields', []))}"
                  for m in src["missed"]]
        for name, doc in report["per_document"].items():
            if not doc["wrong"]:
                continue
            lines.append(f"\n{name} [{doc['status']}, {doc['format']}]: "
                         f"{len(doc['wrong'])}/{doc['fields']} wrong")
            if doc["status"] != "ok":  # no fields at all: a table would only repeat the gold
                continue
            lines.append(f"  {'key':<40} {_pad('gold', 26)} {_pad('pred', 26)} flagged")
            lines += [f"  {w['key']:<40} {_cell(w['gold'], 26)} {_cell(w['pred'], 26)} "
                      f"{'yes' if w['flagged'] else 'NO'}" for w in doc["wrong"]]
    return "\n".join(lines)
