"""The review queue: every field a person should look at, with a reason they understand.

A field goes to review when its reading is in doubt (confidence below the threshold) or
when it takes part in a failed rule. A failure blamed on extraction also lowers the
confidence of the fields involved, since one of them is probably misread.
"""

from __future__ import annotations

from .result import Reading, ReviewItem, RuleResult
from .rules import TRUSTED

DOUBT_FROM_RULE = 0.5


def apply_rule_doubt(readings: dict[str, Reading], rules: list[RuleResult]) -> None:
    for rule in rules:
        if rule.status == "fail" and rule.blame == "extraction":
            for key in rule.fields:
                if key in readings:
                    readings[key].confidence = min(readings[key].confidence, DOUBT_FROM_RULE)


def build_review(readings: dict[str, Reading], rules: list[RuleResult],
                 left_out: list[str] = ()) -> list[ReviewItem]:
    """`left_out`: the reader's warnings about parts of the file it did not read; a field
    not found may have been in one of them, and its reviewer should know."""
    reasons: dict[str, list[str]] = {}
    for cluster in _clusters([r for r in rules if r.status == "fail"]):
        suspects = _suspects(cluster)
        for rule in cluster:
            why = ("the report itself prints figures that disagree (source error)"
                   if rule.blame == "source" else "a reading involved is in doubt (extraction)")
            for key in rule.fields:
                if key in suspects:
                    reasons.setdefault(key, []).append(
                        f"{rule.rule} fails for {rule.scope}: {rule.detail}; {why}")
    for key, reading in readings.items():
        if reading.confidence < TRUSTED and key not in reasons:
            note = reading.prov.note or f"read by {reading.prov.method} with low confidence"
            reasons[key] = [f"{note} (confidence {reading.confidence:.2f})"]
            if left_out and reading.prov.method == "absent":
                reasons[key].append("the reader left part of the file out: " + "; ".join(left_out[:3]))
    order = list(readings)
    return [ReviewItem(field=k, reason="; ".join(v))
            for k, v in sorted(reasons.items(), key=lambda kv: order.index(kv[0]) if kv[0] in order else 0)]


def _clusters(failed: list[RuleResult]) -> list[list[RuleResult]]:
    """Failed rules grouped by the fields they share (one misprint breaks several rules)."""
    clusters: list[tuple[set[str], list[RuleResult]]] = []
    for rule in failed:
        keys = set(rule.fields)
        joined = [c for c in clusters if c[0] & keys]
        for c in joined:
            clusters.remove(c)
            keys |= c[0]
        clusters.append((keys, [r for c in joined for r in c[1]] + [rule]))
    return [rules for _, rules in clusters]


def _suspects(cluster: list[RuleResult]) -> set[str]:
    """The cells that explain every failure of a cluster, when the rules cross in them
    (R2 of a column and R3 of a row meet in one cell); otherwise every field involved."""
    shared = set(cluster[0].fields)
    for rule in cluster[1:]:
        shared &= set(rule.fields)
    if len(cluster) > 1 and shared:
        return shared
    return {k for rule in cluster for k in rule.fields}
