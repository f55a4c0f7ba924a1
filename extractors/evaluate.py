"""Score per-document results against gold labels (the spec's gold format).

    report = evaluate(load_gold(gold_dir), load_predictions(pred_dir))
    print(format_report(report, verbose=True))

A field is right when the prediction equals the gold value: numbers as numbers (25.1 ==
25.10), null only equals null, and `text.*` fields by similarity ≥ 0.9 after whitespace is
normalised.

A gold document is matched to its prediction by name (the prediction's `document`), else by
content: the gold's `sha256`, or the hash of the gold's document found beside its folder,
against the prediction's `sha256` (a `run` folder names its documents by hash). A gold
document with no prediction is missing: its fields are reported apart, and count as wrong
only in the accuracy over all gold; every other figure is over the predicted documents.
"""

from __future__ import annotations

import json
import math
import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError
from rapidfuzz import fuzz

from .pipeline import sha256_of
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


def add_source_hashes(gold: dict[str, dict], folder: Path) -> None:
    """For gold files without a `sha256`: the hash of their document where it lies beside the
    gold folder (eval/cases/gold/x.json labels eval/cases/x.pdf), to find its prediction by
    content when the prediction is named otherwise."""
    for data in gold.values():
        source = Path(folder).parent / data["document"]
        if "sha256" not in data and source.is_file():
            data["sha256"] = sha256_of(source)


def prediction_folder(folder: Path) -> Path:
    """The folder of per-document JSONs: `folder` itself (an extract output), or its
    documents/ (a `run` output)."""
    folder = Path(folder)
    inside = folder / "documents"
    if inside.is_dir() and not any(p.name not in ("summary.json", "run.json") for p in folder.glob("*.json")):
        return inside
    return folder


def load_predictions(folder: Path) -> tuple[dict[str, DocumentResult], list[str]]:
    """Per-document results keyed by `document`, and warnings about files skipped: JSON that
    is not a result (the run summary, say) and second results for the same document.
    `folder` may be a `run` output folder (its documents/ are read)."""
    preds: dict[str, DocumentResult] = {}
    warnings = []
    for path in sorted(prediction_folder(folder).glob("*.json")):
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


def match(gold: dict[str, dict], preds: dict[str, DocumentResult]) -> tuple[dict[str, str], dict[str, str]]:
    """Each gold document's prediction (gold name → prediction's `document`) and how it was
    found: "name", or "content" (the same sha256 under another name)."""
    by_sha = {p.sha256: name for name, p in preds.items() if p.sha256}
    found, how = {}, {}
    for name, data in gold.items():
        if name in preds:
            found[name], how[name] = name, "name"
        elif data.get("sha256") in by_sha:
            found[name], how[name] = by_sha[data["sha256"]], "content"
    return found, how


def evaluate(gold: dict[str, dict], preds: dict[str, DocumentResult]) -> dict:
    found, how = match(gold, preds)
    checks: list[FieldCheck] = []  # the predicted documents' fields
    by_format: dict[str, list[FieldCheck]] = defaultdict(list)
    per_document = {}
    source = {"expected": 0, "found": 0, "missed": [], "false_alarms": []}
    missing_fields = 0
    for name in sorted(gold):
        if name not in found:
            missing_fields += len(gold[name]["fields"])
            per_document[name] = {"status": "missing", "format": NO_PREDICTION,
                                  "fields": len(gold[name]["fields"]), "wrong": []}
            continue
        pred = preds[found[name]]
        doc_checks = check_document(gold[name], pred)
        checks += doc_checks
        fmt = pred.format or "unknown"
        by_format[fmt] += doc_checks
        found_errors, missed, alarms = source_error_matches(gold[name], pred)
        source["expected"] += len(found_errors) + len(missed)
        source["found"] += len(found_errors)
        source["missed"] += [{"document": name, **e} for e in missed]
        source["false_alarms"] += [{"document": name, **a} for a in alarms]
        per_document[name] = {
            "status": pred.status, "format": fmt, "prediction": found[name], "matched_by": how[name],
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
    right = len(checks) - len(wrong)
    return {
        "documents": {"gold": len(gold), "predicted": len(found),
                      "matched_by": dict(Counter(how.values())),
                      "missing": sorted(n for n in gold if n not in found),
                      "without_gold": sorted(set(preds) - set(found.values()))},
        "fields": len(checks),  # of the predicted documents
        "wrong": len(wrong),
        "flagged": len(flagged),
        "missing_fields": missing_fields,  # of the gold documents nobody predicted
        "accuracy": _share(right, len(checks)),
        "accuracy_all_gold": _share(right, len(checks) + missing_fields),
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


_MEANING = {  # one line each: what the figure counts
    "by section": "accuracy per part of the template",
    "by format": "accuracy per file format of the prediction",
    "read by": "the field's provenance; absent: found nowhere, read as null; none: no provenance",
}


def _names(names: list[str], shown: int = 5) -> str:
    return ", ".join(names[:shown]) + (f" and {len(names) - shown} more" if len(names) > shown else "")


def format_report(report: dict, verbose: bool = False) -> str:
    docs = report["documents"]
    by = ", ".join(f"{n} by {how}" for how, n in sorted(docs.get("matched_by", {}).items()))
    right = report["fields"] - report["wrong"]
    all_gold = report["fields"] + report["missing_fields"]
    lines = [f"documents: {docs['gold']} gold, {docs['predicted']} predicted" + (f" ({by})" if by else "")
             + (f", {len(docs['missing'])} missing: {_names(docs['missing'])}" if docs["missing"] else "")
             + (f"; {len(docs['without_gold'])} predictions without gold (not scored)"
                if docs["without_gold"] else ""),
             f"fields: {report['fields']} in predicted documents, wrong: {report['wrong']}, flagged: "
             f"{report['flagged']}" + (f"; {report['missing_fields']} in missing documents"
                                       if report["missing_fields"] else ""),
             f"accuracy: {_pct(report['accuracy'])} ({right}/{report['fields']})  over the predicted "
             "documents",
             f"accuracy over all gold: {_pct(report['accuracy_all_gold'])} ({right}/{all_gold})  "
             "a missing document's fields count as wrong"]
    for title, table in (("by section", report["by_section"]), ("by format", report["by_format"]),
                         ("read by", report["by_method"])):
        lines.append(f"  {title} ({_MEANING[title]}):")
        lines += [f"    {name:<10} {_pct(t['accuracy']):>7}  ({t['right']}/{t['total']})"
                  + (f"; unflagged {_pct(t['unflagged']['accuracy'])} ({t['unflagged']['right']}/"
                     f"{t['unflagged']['total']})" if "unflagged" in t else "")
                  for name, t in table.items()]
    src = report["source_errors"]
    lines += [f"unflagged accuracy: {_pct(report['unflagged_accuracy'])}  (right / fields not flagged "
              "for review)",
              f"review recall: {_pct(report['review_recall'])}  (wrong fields that are flagged; —: none "
              "is wrong)",
              f"review burden: {_pct(report['review_burden'])}  (flagged fields / all fields)",
              f"source errors found: {src['found']}/{src['expected']}  (gold source_errors that a "
              "failed rule blamed on the source)",
              f"false alarms: {len(src['false_alarms'])}  (failed rules that match no gold source error)"]
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
