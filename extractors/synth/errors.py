"""Source errors: perturb what a report prints so that the report itself breaks a rule.

Each perturbation aims at one rule, but a changed cell can break more (a lone cell breaks R2
for its column and R3 for its row); the oracle in check.py, not the aim, decides what goes
into gold `source_errors`, and each violation is pinned on the perturbation that causes it.
"""

from __future__ import annotations

import copy
import random
from dataclasses import dataclass, field

from extractors.standard_model import (
    APPEAL_COLUMNS, APPEAL_GROUPS, APPLICANT_COLUMNS, APPLICANTS, prints_older_other, request_rows,
    result_rows,
)
from extractors.synth.check import Claim, Violation, violations

ERROR_RULES = ("R1", "R2", "R3", "R4", "R5", "R6", "X1")


@dataclass
class Perturbation:
    rule: str
    fields: dict[str, int] = field(default_factory=dict)  # key -> delta
    claims: dict[int, int] = field(default_factory=dict)  # index of the prose claim -> delta
    counts: dict[str, int] = field(default_factory=dict)  # item printed as 252（减18） -> delta
    blame: set[str] = field(default_factory=set)          # keys a violation it causes names

    def apply(self, fields: dict[str, object], claims: list[Claim],
              this_year: dict[str, int]) -> None:
        for key, d in self.fields.items():
            fields[key] = (fields[key] or 0) + d  # type: ignore[operator]
        for i, d in self.claims.items():
            claims[i].value += d
        for item, d in self.counts.items():
            this_year[item] += d


def possible_rules(template: str, this_year: dict[str, int], claims: list[Claim]) -> list[str]:
    """R5 needs a printed this-year count (template 2019), X1 a figure in the prose."""
    return [r for r in ERROR_RULES
            if (r != "R5" or (template == "2019" and this_year)) and (r != "X1" or claims)]


def _delta(rng: random.Random, current: int) -> int:
    d = rng.choice((1, 1, 2, 3, 5, 10)) * rng.choice((1, -1))
    return abs(d) if current + d < 0 else d


def choose(rng: random.Random, rule: str, template: str, fields: dict[str, object],
           claims: list[Claim], this_year: dict[str, int]) -> Perturbation:
    """A perturbation aimed at `rule`, keeping counts non-negative except for R6."""
    def now(key: str) -> int:
        return fields[key] or 0  # type: ignore[return-value]

    req = "requests.{}.{}".format
    older = prints_older_other(template, fields)  # only the rows the report prints are perturbed
    if rule in ("R1", "R2"):
        # A cell and its row total move together: R3 holds; R1 (row new, carried or
        # carry_forward) or R2 (a result row) breaks for the column and for 总计.
        rows = ("new", "carried", "carry_forward") if rule == "R1" else result_rows(template, older)
        row, c = rng.choice(rows), rng.choice(APPLICANTS)
        d = _delta(rng, min(now(req(row, c)), now(req(row, "total"))))
        keys = {req(row, c): d, req(row, "total"): d}
        return Perturbation(rule, fields=keys, blame=set(keys))
    if rule in ("R3", "R4"):  # one lone cell
        key = (req(rng.choice(request_rows(template, older)), rng.choice(APPLICANT_COLUMNS)) if rule == "R3"
               else f"{rng.choice(APPEAL_GROUPS)}.{rng.choice(APPEAL_COLUMNS)}")
        return Perturbation(rule, fields={key: _delta(rng, now(key))}, blame={key})
    if rule == "R5":  # only the printed count changes: 252（减18） becomes 250（减18）
        item = rng.choice(sorted(this_year))
        return Perturbation(rule, counts={item: _delta(rng, this_year[item])},
                            blame={f"{item}.change"})
    if rule == "R6":  # a negative count, balanced by another row so that every sum holds
        c = rng.choice(APPLICANTS)
        low, high = rng.sample(result_rows(template, older), 2)
        k = rng.randint(1, 3) + now(req(low, c))
        return Perturbation(rule, fields={req(low, c): -k, req(low, "total"): -k,
                                          req(high, c): k, req(high, "total"): k},
                            blame={req(low, c), req(low, "total")})
    if rule == "X1":
        i = rng.randrange(len(claims))
        return Perturbation(rule, claims={i: _delta(rng, claims[i].value)},
                            blame=set(claims[i].fields))
    raise ValueError(f"no such rule: {rule}")


def _key(v: Violation) -> tuple[str, tuple[str, ...]]:
    return v.rule, tuple(v.fields)


def source_errors(found: list[Violation], perturbations: list[Perturbation], template: str,
                  fields: dict[str, object], claims: list[Claim],
                  this_year: dict[str, int]) -> list[dict]:
    """Gold entries for the violations `found` after `perturbations` were applied to the
    clean report (fields, claims, this_year). A violation names the fields of each
    perturbation that breaks the same equation on its own."""
    alone = []
    for p in perturbations:
        f, cl, ty = copy.deepcopy(fields), copy.deepcopy(claims), dict(this_year)
        p.apply(f, cl, ty)
        alone.append({_key(v) for v in violations(f, template, cl, ty)})
    every = set().union(*(p.blame for p in perturbations))
    entries = []
    for v in found:
        causes = set().union(*(p.blame for p, keys in zip(perturbations, alone) if _key(v) in keys))
        named = [k for k in v.fields if k in causes] or [k for k in v.fields if k in every]
        entries.append({"rule": v.rule, "fields": named or v.fields, "note": v.note})
    return entries
