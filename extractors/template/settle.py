"""OCR readings settled by the template's arithmetic (issue 13).

OCR keeps, for a number cell, the recogniser's readings with their scores (Provenance.
candidates). Where a cell is in doubt (a low score, text that is no clean number, or a part
in a rule that fails), the rules R1–R4 (and R5 for last year's figures in 二) choose
between its candidates: every assignment that makes each rule touching the doubtful cells
hold is found, and a cell takes a value only where all of them agree on it (so no ranking
of joint scores can pick one of two that fit). This chooses between readings of the same ink and
never edits a printed figure:

- a candidate scoring under MARGIN of the cell's best reading is never taken, so cells read
  cleanly have no alternative, and a report whose clean figures disagree stays a source error;
- a cell on which two fitting assignments differ, or one where none fits, keeps its reading
  and its doubt;
- a cell the arithmetic decided says so in its note, and its confidence follows the share
  of the best reading's score that the chosen one has.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from ..document import Cell, Table
from ..result import Reading
from ..rules import R5_ITEMS, TRUSTED, equations
from ..standard_model import CHANGE_KEYS, prints_older_other
from .values import parse_value

MARGIN = 0.2  # a candidate under this share of the best reading's score is never taken
MAX_STEPS = 50_000  # search nodes per group of linked cells …
MAX_SECONDS = 0.2  # … and time: past either, nothing in the group is settled
# A settled cell's confidence: SETTLED_BASE + SETTLED_SPAN × (chosen score / best score):
# 0.9 where the best reading fits, under the review bar where the chosen one scored less
# than a third of it.
SETTLED_BASE, SETTLED_SPAN = 0.6, 0.3

Equation = tuple[str, str, list[str], list[str], int]  # sum(left) == sum(right) + constant


@dataclass
class _Option:
    value: int | None  # None: a blank cell (0 in a sum)
    score: float
    text: str


def cells_with_candidates(readings: dict[str, Reading], tables: list[Table]) -> dict[str, Cell]:
    """The cell each reading was read from, by the reading's key, where OCR left candidates."""
    cells = {(t.id, c.row, c.col): c for t in tables for row in t.rows for c in row
             if c.prov.candidates}
    out = {}
    for key, reading in readings.items():
        p = reading.prov
        cell = cells.get((p.table, p.row, p.col)) if p.method == "table" else None
        if cell is not None:
            out[key] = cell
    return out


def settle_by_rules(readings: dict[str, Reading], cells: dict[str, Cell], template: str) -> None:
    """Settle in place the readings in doubt whose cells (by key) have OCR candidates."""
    candidates = {k: c.prov.candidates for k, c in cells.items() if c.prov.candidates}
    cell_scores = {k: c.prov.score for k, c in cells.items()}
    older = prints_older_other(template, readings)  # R2 sums the older （六） row where printed
    eqs = [(*e, 0) for e in equations(template, older) if all(k in readings for k in e[2] + e[3])]
    for item in R5_ITEMS if template == "2019" else ():
        # prev + change == this year's count printed beside the change (252（减18）); the
        # change cell is taken as read, so only last year's figure is settled by it
        change = readings.get(f"active.{item}.change")
        if change is not None and change.stated is not None and f"active.{item}.prev" in readings:
            eqs.append(("R5", f"item {item}", [f"active.{item}.prev", change.key], [], change.stated))
    failed = {k for e in eqs if not _holds(e, readings, {}) for k in e[2] + e[3]}
    in_rules = {k for e in eqs for k in e[2] + e[3]}
    options = {}
    for key, cands in candidates.items():
        reading = readings.get(key)
        if reading is None or key not in in_rules or key in CHANGE_KEYS \
                or not (reading.confidence < TRUSTED or key in failed):
            continue
        opts = _options(reading, cands)
        if len(opts) > 1 or (opts and _garbled(reading)):
            options[key] = opts
    for group in _groups(list(options), eqs):
        _settle_group(group, [e for e in eqs if set(e[2] + e[3]) & set(group)], readings, options,
                      cell_scores, {k: max(s for _, s in candidates[k]) for k in group})


def _garbled(reading: Reading) -> bool:
    return parse_value(reading.prov.raw or "", "count").status == "garbled"


def _options(reading: Reading, cands: list[tuple[str, float]]) -> list[_Option]:
    """The cell's readings that parse as a count or a blank, within MARGIN of the best
    reading (garbled ones included in that best), merged by value, best first; the reading
    the cell shows is always one of them, unless it is no number."""
    best = max(score for _, score in cands)
    found: dict[int | None, _Option] = {}
    for text, score in cands:
        parsed = parse_value(text, "count")
        # ink read as nothing is no blank cell: a blank is a printed mark, "/" or "-"
        if parsed.status == "garbled" or score < MARGIN * best or not text.strip():
            continue
        if parsed.value not in found or found[parsed.value].score < score:
            found[parsed.value] = _Option(parsed.value, score, text)
    if not _garbled(reading) and reading.value not in found:
        found[reading.value] = _Option(reading.value, best, reading.prov.raw or "")
    return sorted(found.values(), key=lambda o: -o.score)


def _groups(keys: list[str], eqs: list[Equation]) -> list[list[str]]:
    """The doubtful keys split into groups that share no rule."""
    parent = {k: k for k in keys}

    def root(k: str) -> str:
        while parent[k] != k:
            k = parent[k]
        return k

    for e in eqs:
        inside = [k for k in e[2] + e[3] if k in parent]
        for k in inside[1:]:
            parent[root(k)] = root(inside[0])
    groups: dict[str, list[str]] = {}
    for k in keys:
        groups.setdefault(root(k), []).append(k)
    return list(groups.values())


def _holds(eq: Equation, readings: dict[str, Reading], chosen: dict[str, int | None]) -> bool:
    def value(k: str) -> float:
        v = chosen[k] if k in chosen else readings[k].value
        return v if isinstance(v, (int, float)) else 0

    return sum(map(value, eq[2])) == sum(map(value, eq[3])) + eq[4]


def _settle_group(keys: list[str], eqs: list[Equation], readings: dict[str, Reading],
                  options: dict[str, list[_Option]], cell_scores: dict[str, float | None],
                  best: dict[str, float]) -> None:
    fits = _search(keys, eqs, readings, options)
    if not fits:
        return  # none fits, or the search was cut: every cell keeps its doubt
    for i, key in enumerate(keys):
        chosen = {fit[i] for fit in fits}
        if len(chosen) > 1:
            reading = readings[key]
            shown = ", ".join(sorted(_show(options[key][j]) for j in chosen))
            reading.prov.note = _join(reading.prov.note, f"readings that fit the rules: {shown}; "
                                      "the arithmetic cannot choose")
            continue
        _take(readings[key], options[key], chosen.pop(),
              [e for e in eqs if key in e[2] + e[3]], cell_scores.get(key), best[key])


def _search(keys: list[str], eqs: list[Equation], readings: dict[str, Reading],
            options: dict[str, list[_Option]]) -> list[tuple[int, ...]]:
    """Every assignment (an option index per key) under which all of `eqs` hold; depth
    first, each rule tested as soon as its last doubtful key is set. A key on which two
    assignments differ stays in doubt, so their scores need no ranking. Empty if the search
    ran past MAX_STEPS or MAX_SECONDS."""
    position = {k: i for i, k in enumerate(keys)}
    due: list[list[Equation]] = [[] for _ in keys]
    for e in eqs:
        due[max(position[k] for k in e[2] + e[3] if k in position)].append(e)
    deadline = time.monotonic() + MAX_SECONDS
    fits: list[tuple[int, ...]] = []
    steps = 0
    chosen: dict[str, int | None] = {}
    picks: list[int] = []

    def walk(depth: int) -> bool:
        nonlocal steps
        if depth == len(keys):
            fits.append(tuple(picks))
            return True
        key = keys[depth]
        for j, opt in enumerate(options[key]):
            steps += 1
            if steps > MAX_STEPS or (steps % 1000 == 0 and time.monotonic() > deadline):
                return False
            chosen[key] = opt.value
            if all(_holds(e, readings, chosen) for e in due[depth]):
                picks.append(j)
                ok = walk(depth + 1)
                picks.pop()
                if not ok:
                    return False
        del chosen[key]
        return True

    return fits if walk(0) else []


def _take(reading: Reading, opts: list[_Option], j: int, eqs: list[Equation],
          cell_score: float | None, best: float) -> None:
    """`best`: the score of the cell's best reading, a number or not."""
    option = opts[j]
    confidence = SETTLED_BASE + SETTLED_SPAN * option.score / best
    rules = ", ".join(f"{e[0]} ({e[1]})" for e in eqs)
    others = ", ".join(_show(o) for o in opts)
    was_bound_by_ocr = _garbled(reading) or cell_score is not None and reading.confidence >= cell_score
    if option.value == reading.value and not _garbled(reading):
        note = f"confirmed by {rules}: of {others}, only {option.text or 'blank'!r} fits"
    else:
        note = f"settled by {rules}: read {others}; {option.text or 'blank'!r} fits"
        reading.value = option.value
    zero = option.value in (0, None)
    if zero:  # a sum holds as well with a 0 as with a blank, or with a figure lost elsewhere
        note += " (a sum cannot tell 0 from blank)"
    reading.prov.note = _join(None if _garbled(reading) else reading.prov.note, note)
    raise_ = was_bound_by_ocr and not zero
    reading.confidence = confidence if raise_ else min(reading.confidence, confidence)


def _show(option: _Option) -> str:
    return f"{option.text or 'blank'!r} ({option.score:.2f})"


def _join(a: str | None, b: str) -> str:
    return f"{a}; {b}" if a else b
