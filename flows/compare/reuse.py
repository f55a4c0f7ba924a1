"""Copied text: the share of this year's section found in last year's.

Both texts are reduced to what a copy keeps: NFKC (full-width → half-width), letters and
digits only (spaces, punctuation and line breaks dropped), every run of digits one `0` and
a year in Chinese numerals (二〇二三) too, so a section copied but for its year and figures
reads as the same. The reduced text is cut into character n-grams (shingles, n = 5: a
Chinese phrase); `reuse` is the share of this year's shingles that last year's text has:
1 for a copy, ~0 for a new text. It is asymmetric on purpose: a section that kept last
year's text whole and added as much again reuses 0.5.
"""

from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from extractors.standard_model import TEXT_KEYS

N = 5
_CN_YEAR = re.compile(r"[〇零一二三四五六七八九]{4}")
REUSE_COLUMNS = ("agency", "year", "previous_year", "section", "reuse")
REPORT_SECTION = "report"  # the row of the whole report in reuse.csv


@dataclass
class Reduced:
    text: str  # the reduced text
    at: list[int]  # at[i]: where the reduced text's i-th character starts in the original
    shingles: frozenset[str]


# A number (1,234 and 3.5 are one) or one letter; anything else (spaces, punctuation) goes.
_KEPT = re.compile(r"(\d+(?:[,.]\d+)*)|[^\W\d_]")


@lru_cache(maxsize=256)  # a report's text is reduced once though it is in two pairs and two views
def reduce(text: str) -> Reduced:
    text = _CN_YEAR.sub(lambda m: "0" * len(m.group(0)), text)
    folded = unicodedata.normalize("NFKC", text).lower()
    if len(folded) != len(text):  # a character NFKC spells as several (㎡): fold one by one
        return _reduce_by_character(text)
    out, at = [], []
    for m in _KEPT.finditer(folded):
        out.append("0" if m.group(1) else m.group(0))
        at.append(m.start())
    return _reduced("".join(out), at)


def _reduce_by_character(text: str) -> Reduced:
    out, at, digit_at = [], [], -9
    for i, ch in enumerate(text):
        for m in _KEPT.finditer(unicodedata.normalize("NFKC", ch).lower()):
            if m.group(1):
                # a number's next digit, right after the last or past one separator (1,234)
                goes_on = digit_at == i - 1 or (digit_at == i - 2 and text[i - 1] in ",.，．")
                digit_at = i
                if goes_on and out and out[-1] == "0":
                    continue
            out.append("0" if m.group(1) else m.group(0))
            at.append(i)
    return _reduced("".join(out), at)


def _reduced(text: str, at: list[int]) -> Reduced:
    if len(text) <= N:
        return Reduced(text, at, frozenset({text} if text else ()))
    return Reduced(text, at, frozenset(text[i:i + N] for i in range(len(text) - N + 1)))


@dataclass
class SectionReuse:
    section: str
    reuse: float | None  # None: this year has no such text
    found: int  # this year's shingles found in last year's
    total: int  # this year's shingles


def section_reuse(section: str, current: str | None, previous: str | None) -> SectionReuse:
    cur, prev = reduce(current or "").shingles, reduce(previous or "").shingles
    if not cur:
        return SectionReuse(section, None, 0, 0)
    found = len(cur & prev)
    return SectionReuse(section, found / len(cur), found, len(cur))


def pair_reuse(current: dict, previous: dict) -> list[SectionReuse]:
    """Each text section's reuse, then the whole report's (its sections' shingles together)."""
    parts = [section_reuse(k, _text(current.get(k)), _text(previous.get(k))) for k in TEXT_KEYS]
    found, total = sum(p.found for p in parts), sum(p.total for p in parts)
    return parts + [SectionReuse(REPORT_SECTION, found / total if total else None, found, total)]


def _text(value) -> str | None:
    return value if isinstance(value, str) else None


def marked_html(text: str | None, other: str | None) -> str:
    """`text` as HTML, each passage whose shingles `other` has inside <mark>."""
    if not text:
        return ""
    reduced = reduce(text)
    theirs = reduce(other or "").shingles
    covered = [False] * len(reduced.text)
    if len(reduced.text) <= N:
        if reduced.text and reduced.text in theirs:
            covered = [True] * len(reduced.text)
    else:
        for i in range(len(reduced.text) - N + 1):
            if reduced.text[i:i + N] in theirs:
                covered[i:i + N] = [True] * N
    spans, i = [], 0
    while i < len(covered):  # runs of covered reduced characters → spans of the original
        if covered[i]:
            j = i
            while j + 1 < len(covered) and covered[j + 1]:
                j += 1
            end = reduced.at[j + 1] if j + 1 < len(reduced.at) else len(text)
            spans.append((reduced.at[i], _trim_end(text, reduced.at[j], end)))
            i = j + 1
        else:
            i += 1
    out, pos = [], 0
    for start, end in spans:
        out += [html.escape(text[pos:start]), "<mark>", html.escape(text[start:end]), "</mark>"]
        pos = end
    out.append(html.escape(text[pos:]))
    return "".join(out)


def _trim_end(text: str, last: int, end: int) -> int:
    """The end of a marked passage: its last kept character and what belongs to it (a
    number's other digits, closing punctuation), not the spaces and line after it."""
    stop = last + 1
    while stop < end and not text[stop].isspace():
        stop += 1
    return stop
