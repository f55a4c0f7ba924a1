"""Parsing a printed cell into the standard model's value.

`+8` → 8; `252（减18）` in a 本年增/减 cell → change -18 with 252 as the stated count (rule R5);
`182.32万元` → 182.32; `251000元` → 25.1 (万元); blank, `/`, `—` → null. A cell whose text
is not a clean number is never guessed at: it comes back as `garbled` with no value; so does
a number too large for the dataset (`in_range`), with the reason.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

Kind = Literal["count", "change", "money"]
Status = Literal["ok", "blank", "garbled"]

_BLANKS = {"", "/", "\\", "-", "--", "—", "——", "–", "－", "―", "无", "空", "×", "x", "null"}
_UNIT = r"(?:件|个|项|条|次|宗|人|家|起|篇)?"
_COUNT = re.compile(rf"^\+?(\d+){_UNIT}$")
_NEGATIVE = re.compile(rf"^-(\d+){_UNIT}$")
_CHANGE = re.compile(rf"^(增加|增|减少|减|\+|-)?(\d+){_UNIT}$")
# "252（减18）", "1083(增19)", "252(-18)", "252（较上年减少18）"
_CHANGE_WITH_COUNT = re.compile(rf"^(\d+){_UNIT}\((?:较上年)?(增加|增|减少|减|\+|-)?(\d+){_UNIT}\)$")
_MONEY = re.compile(r"^(\d+(?:\.\d+)?)(万元|万|元|亿元|亿)?$")

# Counts go to int64 columns and every number through the database's float64, which holds
# integers exactly only below 2**53 (16 digits). No report prints a real figure of more than
# 15 digits (10**15 件, or 10**15 万元), so that is the cap for counts and money alike.
MAX_DIGITS = 15
_LIMIT = 10 ** MAX_DIGITS


def in_range(value: int | float) -> bool:
    """Whether the dataset holds this number exactly: under 10**15 in magnitude (inf and NaN
    are not). Compared as is, so a 400-digit int is never turned into a float."""
    return -_LIMIT < value < _LIMIT


@dataclass(frozen=True)
class Parsed:
    value: int | float | None
    status: Status
    stated: int | None = None  # this year's count printed beside a change
    reason: str | None = None  # why a garbled cell that reads as a number was refused


def _clean(text: str) -> str:
    """Spaces and thousands separators out, every dash a minus (blanks are handled before)."""
    text = re.sub(r"\s+", "", text).replace(",", "").replace("，", "")
    return text.replace("—", "-").replace("–", "-").replace("−", "-")


@lru_cache(maxsize=8192)  # reports repeat the same few texts ("0", blanks, the labels)
def parse_value(text: str | None, kind: Kind = "count") -> Parsed:
    if text is None:
        return Parsed(None, "blank")
    # the common case, without the regexes
    if text.isascii() and text.strip().isdigit() and len(text) <= MAX_DIGITS:
        return Parsed(int(text) if kind != "money" else float(text), "ok")
    raw = unicodedata.normalize("NFKC", text).strip()
    if re.sub(r"\s+", "", raw) in _BLANKS:
        return Parsed(None, "blank")
    s = _clean(raw)  # raw is NFKC already
    if kind == "money":
        m = _MONEY.match(s)
        if not m:
            return Parsed(None, "garbled")
        whole = m.group(1).split(".")[0]
        if refused := _too_long(whole, "an amount"):
            return refused
        amount = float(m.group(1))
        unit = m.group(2) or "万元"
        if unit == "元":
            amount /= 10000
        elif unit in ("亿", "亿元"):
            amount *= 10000
            if not in_range(amount):
                return _too_large("an amount in 万元", len(whole) + 4)
        return Parsed(round(amount, 6), "ok")
    if kind == "change":
        m = _CHANGE.match(s)
        if m:
            return _too_long(m.group(2)) or Parsed(_signed(m.group(1), int(m.group(2))), "ok")
        m = _CHANGE_WITH_COUNT.match(s)
        if m:
            return (_too_long(m.group(3)) or _too_long(m.group(1))
                    or Parsed(_signed(m.group(2), int(m.group(3))), "ok", stated=int(m.group(1))))
        return Parsed(None, "garbled")
    m = _COUNT.match(s)
    if m:
        return _too_long(m.group(1)) or Parsed(int(m.group(1)), "ok")
    m = _NEGATIVE.match(s)
    if m:  # printed negative: kept, so that rule R6 reports it
        return _too_long(m.group(1)) or Parsed(-int(m.group(1)), "ok")
    return Parsed(None, "garbled")


def _too_long(digits: str, what: str = "a count") -> Parsed | None:
    """The refusal of a figure printed with more digits than the cap, else None. Checked on
    the text: int() refuses more than 4300 digits, float() makes inf of a few hundred."""
    return _too_large(what, len(digits)) if len(digits) > MAX_DIGITS else None


def _too_large(what: str, digits: int) -> Parsed:
    return Parsed(None, "garbled",
                  reason=f"{what} of {digits} digits: the dataset holds at most {MAX_DIGITS}")


def _signed(sign: str | None, n: int) -> int:
    return -n if sign in ("减", "减少", "-") else n


def is_value_text(text: str) -> bool:
    """Whether a cell reads as a value (a number, a blank marker) rather than a label. A
    number too large to hold is a value still (refused, flagged), lest the row lose a cell."""
    for kind in ("change", "money"):
        parsed = parse_value(text, kind)
        if parsed.status != "garbled" or parsed.reason:
            return True
    return False
