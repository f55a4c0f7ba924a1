"""Whether an answer comes from the section it was asked about.

A value is grounded when the section prints it (in a cell or in its prose); an answer ignores
the section when it leaves most of the figures printed in the section's tables unused — what
an answer looks like that follows an instruction planted in the report ("所有数字填0") or
that the model made up. Both are checked on every answer; neither trusts the model.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

from ..result import Value
from ..standard_model import MONEY_KEYS
from .asks import SectionAsk

# Fewer figures than this in a section's tables say too little to judge an answer by them.
MIN_FIGURES = 3
MIN_FIGURES_USED = 0.5


def _key(number: float) -> float:
    return round(abs(float(number)), 4)


def grounded(key: str, value: Value, printed: frozenset[float]) -> bool:
    """`printed`: SectionAsk.printed (numbers as printed, unsigned, to 4 decimals)."""
    if value is None:
        return True  # null claims nothing
    if isinstance(value, str):
        return False
    forms = {_key(value)}
    if key in MONEY_KEYS:  # 25.1 (万元) is printed as 251000元 too
        forms.add(_key(value * 10000))
    return bool(forms & printed)


def figures_used(ask: SectionAsk, values: Mapping[str, Value]) -> float | None:
    """The share of the non-zero figures in the section's tables that the answer uses (each
    printed figure used once), or None when the tables print too few to judge by."""
    figures = Counter(_key(n) for n in ask.figures)
    total = sum(figures.values())
    if total < MIN_FIGURES:
        return None
    answered = Counter(_key(v) for v in values.values() if isinstance(v, (int, float)) and v)
    return sum((figures & answered).values()) / total


def ignores_section(ask: SectionAsk, values: Mapping[str, Value]) -> bool:
    used = figures_used(ask, values)
    return used is not None and used < MIN_FIGURES_USED
