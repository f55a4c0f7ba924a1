"""The LLM's answer as one more reading of each field, weighed against the table's.

- Both read the same value: the field is confirmed (two readings agree).
- They disagree: the field goes to review, with both values in its note. A confident table
  reading is kept; a doubtful one gives way to the LLM's value if that value is printed in
  the section (grounded) and the answer as a whole was read from the section.
- The LLM alone read it (the table was not found): its value is taken, in doubt, and only
  `confirm_by_rules` can clear it: when every rule it takes part in holds with figures that
  are not all zero, or when its whole section closes — every rule of the section holds and
  the answer uses nearly every figure the section's tables print (zeros in an all-zero row
  and column have no rule of their own to confirm them).
An ungrounded value, or any value of an answer that ignores the section, never replaces a
reading; where it disagrees it sends the field to review.
"""

from __future__ import annotations

from ..result import FieldProvenance, LlmAnswer, Reading, RuleResult, Value
from ..rules import TRUSTED, value_sum
from .asks import SectionAsk
from .grounding import figures_used, grounded, ignores_section

AGREED = 0.9
DISPUTED = 0.5  # a confident reading the LLM contradicts: to review
LLM_ALONE = 0.6  # a grounded value only the LLM read
LLM_CONFIRMED = 0.8  # ... whose rules hold
SECTION_FIGURES_USED = 0.9  # a section "closes" only if its answer uses this share of its figures


def merge_answer(readings: dict[str, Reading], ask: SectionAsk, values: dict[str, Value]) -> None:
    ignored = ignores_section(ask, values)
    for key in ask.keys:
        if key not in values or key not in readings:
            continue
        reading, value = readings[key], values[key]
        usable = grounded(key, value, ask.printed) and not ignored
        if _same(reading.value, value):
            if value is not None or reading.confidence >= TRUSTED:
                reading.confidence = max(reading.confidence, AGREED)
                reading.prov.note = _join(reading.prov.note, "the LLM read the same")
            continue
        why = ("not printed in the section" if not grounded(key, value, ask.printed)
               else "its answer leaves the section's figures unused" if ignored else None)
        said = f"the LLM read {value!r}" + (f" ({why})" if why else "")
        if reading.confidence >= TRUSTED or not usable or value is None:
            reading.confidence = min(reading.confidence, DISPUTED)
            reading.prov.note = _join(reading.prov.note, f"{said}; the table reading is kept")
            continue
        before = "not read" if reading.value is None else f"the table read {reading.value!r}"
        readings[key] = Reading(key=key, value=value, confidence=LLM_ALONE, prov=FieldProvenance(
            method="llm", raw=str(value), note=f"read by the LLM from {ask.section}; {before}"))


_UNANSWERED = {"error": "the LLM was asked and failed", "budget": "the LLM token budget was spent",
               "not_configured": "no LLM configured to ask"}


def note_unanswered(readings: dict[str, Reading], ask: SectionAsk, answer: LlmAnswer) -> None:
    for key in ask.keys:
        reading = readings.get(key)
        if reading is not None and reading.confidence < TRUSTED:
            reading.prov.note = _join(reading.prov.note, _UNANSWERED[answer.status])


def confirm_by_rules(readings: dict[str, Reading], rules: list[RuleResult],
                     answered: list[tuple[SectionAsk, dict[str, Value]]]) -> None:
    """Raise LLM-only values that the accounting identities vouch for (see the module's
    docstring): a rule that closes on real figures is evidence a single reading lacks."""
    holding: dict[str, list[RuleResult]] = {}
    for rule in rules:
        for key in rule.fields:
            holding.setdefault(key, []).append(rule)
    for ask, values in answered:
        alone = [k for k in ask.keys if k in readings and readings[k].prov.method == "llm"
                 and readings[k].confidence == LLM_ALONE]
        section_rules = [r for k in ask.keys for r in holding.get(k, [])]
        used = figures_used(ask, values)
        closes = (used is not None and used >= SECTION_FIGURES_USED and _vouch(readings, section_rules))
        for key in alone:
            if closes or _vouch(readings, holding.get(key, [])):
                readings[key].confidence = LLM_CONFIRMED
                readings[key].prov.note = _join(readings[key].prov.note, "confirmed by the rules")


def _vouch(readings: dict[str, Reading], rules: list[RuleResult]) -> bool:
    return bool(rules) and all(r.status == "pass" for r in rules) and any(
        value_sum(readings, r.fields) > 0 for r in rules)


def _same(a: Value, b: Value) -> bool:
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return abs(a - b) < 1e-6
    return a == b


def _join(note: str | None, more: str) -> str:
    return f"{note}; {more}" if note else more
