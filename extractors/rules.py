"""The template's accounting rules (勾稽关系) R1–R6 and X1, over readings from any extractor.

Each failure carries a blame: `source` when every cell involved was read cleanly, so the
report itself prints figures that disagree (a finding users want, never "fixed");
`extraction` when some involved reading is in doubt, so the failure may be ours.
"""

from __future__ import annotations

from collections.abc import Iterable

from .result import ProseFigure, Reading, RuleResult
from .standard_model import (APPEAL_GROUPS, APPEAL_PARTS, APPLICANT_COLUMNS, APPLICANTS,
                             CHANGE_KEYS, MONEY_KEYS, OTHER_SUBROWS, is_numeric_key, prints_older_other,
                             request_rows, result_rows)

TRUSTED = 0.7  # below this a reading is in doubt (the review threshold too)
R5_ITEMS = ("licensing", "other_services", "penalty", "coercion", "fees")  # 二's rows with a change


def check_rules(readings: dict[str, Reading], template: str,
                prose: Iterable[ProseFigure] = ()) -> list[RuleResult]:
    results: list[RuleResult] = []
    add = _Checker(readings, results)
    older_other = prints_older_other(template, readings)
    for rule, scope, left, right in equations(template, older_other):
        add.equation(rule, scope, left, right)
    if template == "2019":
        for item in R5_ITEMS:
            change = readings.get(f"active.{item}.change")
            if change is not None and change.stated is not None:
                add.stated_count(item, change)
    add.non_negative()
    for figure in prose:
        add.prose(_on_older_other(figure) if older_other else figure)
    return results


def _on_older_other(figure: ProseFigure) -> ProseFigure:
    """其他处理N件 in the prose of a report that prints the older single row: the figure is
    that row's, not its unprinted sub-rows'."""
    fields = tuple(dict.fromkeys(_older_key(k) for k in figure.fields))
    return figure if fields == figure.fields else figure.model_copy(update={"fields": fields})


def _older_key(key: str) -> str:
    _, row, column = key.split(".", 2) if key.startswith("requests.") else ("", "", "")
    return f"requests.other.{column}" if row in OTHER_SUBROWS else key


def equations(template: str, older_other: bool = False) -> list[tuple[str, str, list[str], list[str]]]:
    """R1–R4 as (rule, scope, left keys, right keys): sum(left) == sum(right), null as 0.
    `older_other`: a 2021 report that prints the older row （六）其他处理, which R2 and R3
    then take in place of its sub-rows."""
    out = []
    for c in APPLICANT_COLUMNS:
        out.append(("R1", f"column {c}", [f"requests.new.{c}", f"requests.carried.{c}"],
                    [f"requests.total.{c}", f"requests.carry_forward.{c}"]))
    for c in APPLICANT_COLUMNS:
        out.append(("R2", f"column {c}", [f"requests.total.{c}"],
                    [f"requests.{r}.{c}" for r in result_rows(template, older_other)]))
    for r in request_rows(template, older_other):
        out.append(("R3", f"row {r}", [f"requests.{r}.total"], [f"requests.{r}.{c}" for c in APPLICANTS]))
    for g in APPEAL_GROUPS:
        out.append(("R4", f"group {g}", [f"{g}.total"], [f"{g}.{p}" for p in APPEAL_PARTS]))
    return out


def value_sum(readings: dict[str, Reading], keys: Iterable[str]) -> float:
    """The sum of the readings' figures, a null or a missing reading counting as 0."""
    return sum(v for k in keys if isinstance(v := readings[k].value if k in readings else None, (int, float)))


class _Checker:
    def __init__(self, readings: dict[str, Reading], results: list[RuleResult]):
        self.readings = readings
        self.results = results

    def _value(self, key: str) -> float:
        return value_sum(self.readings, (key,))

    def _stated(self, keys: list[str]) -> bool:
        """Whether the report prints any of these: a value, or a blank cell of a table it
        prints (a blank counts as 0 in a sum); fields of a missing table are not stated."""
        return any(k in self.readings and (self.readings[k].value is not None
                                           or self.readings[k].prov.method == "table") for k in keys)

    def _blame(self, keys: list[str]) -> str:
        doubtful = [k for k in keys if k in self.readings and self.readings[k].confidence < TRUSTED]
        return "extraction" if doubtful else "source"

    def _add(self, rule: str, scope: str, ok: bool, keys: list[str], detail: str) -> None:
        self.results.append(RuleResult.model_construct(  # trusted values: no validation cost
            rule=rule, scope=scope, status="pass" if ok else "fail",
            blame=None if ok else self._blame(keys), fields=keys, detail=detail))

    def _fmt(self, keys: list[str]) -> str:
        return " + ".join(_num(self._value(k)) for k in keys)

    def equation(self, rule: str, scope: str, left: list[str], right: list[str]) -> None:
        keys = left + right
        if not self._stated(keys):
            return  # a table the report does not print has nothing to check
        lhs, rhs = value_sum(self.readings, left), value_sum(self.readings, right)
        ok = lhs == rhs
        # The working is spelled out for failures, which a person reads; passes say the sum.
        self._add(rule, scope, ok, keys,
                  f"{_num(lhs)} = {_num(rhs)}" if ok else f"{self._fmt(left)} ≠ {self._fmt(right)}")

    def stated_count(self, item: str, change: Reading) -> None:
        prev_key = f"active.{item}.prev"
        prev = self._value(prev_key)
        ok = prev + change.value == change.stated
        self._add("R5", f"item {item}", ok, [prev_key, change.key],
                  f"{_num(prev)} + ({change.value}) {'=' if ok else '≠'} {change.stated} (printed)")

    def non_negative(self) -> None:
        bad = []
        for key, reading in self.readings.items():
            if not is_numeric_key(key) or key in CHANGE_KEYS or reading.value is None:
                continue
            value = reading.value
            integral = key in MONEY_KEYS or float(value).is_integer()
            if value < 0 or not integral:
                bad.append(key)
                self._add("R6", f"field {key}", False, [key], f"{_num(value)} is not a non-negative count")
        if not bad:
            self._add("R6", "all counts", True, [], "every count is a non-negative integer")

    def prose(self, figure: ProseFigure) -> None:
        keys = list(figure.fields)
        if not self._stated(keys):
            return
        table = sum(self._value(k) for k in keys)
        ok = table == figure.value
        self._add("X1", f"prose “{figure.text}”", ok, keys + list(figure.related),
                  f"prose says {figure.value}, table {'=' if ok else 'says'} {_num(table)}")


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)
