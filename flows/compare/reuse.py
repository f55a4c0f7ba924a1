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

from extractors.standard_model import TEXT_KEYS

N = 5
_CN_YEAR = re.compile(r"[〇零一二三四五六七八九]{4}")
REUSE_COLUMNS = ("agency", "year", "previous_year", "section", "reuse")
REPORT_SECTION = "report"  # the row of the whole report in reuse.csv


@dataclass
class Reduced:
    text: str  # the reduced text
    at: list[int]  # at[i]: where the reduced text's i-th character starts in the original


def reduce(text: str) -> Reduced:
    text = _CN_YEAR.sub(lambda m: "0" * len(m.group(0)), text)  # one digit run, folded below
    out: list[str] = []
    at: list[int] = []
    for i, ch in enumerate(text):
        for c in unicodedata.normalize("NFKC", ch):
            if c.isdigit():
                if out and out[-1] == "0" and _digit_run(text, at[-1], i):
                    continue
                c = "0"
            elif not c.isalnum():
                continue
            out.append(c.lower())
            at.append(i)
    return Reduced("".join(out), at)


def _digit_run(text: str, start: int, end: int) -> bool:
    """Whether text[start..end] is digits and separators only (one number: 1,234 or 3.5)."""
    return all(unicodedata.normalize("NFKC", ch).isdigit() or ch in ",.，．、 " for ch in text[start:end + 1])


def shingles(reduced: str) -> set[str]:
    if len(reduced) <= N:
        return {reduced} if reduced else set()
    return {reduced[i:i + N] for i in range(len(reduced) - N + 1)}


@dataclass
class SectionReuse:
    section: str
    reuse: float | None  # None: this year has no such text
    found: int  # this year's shingles found in last year's
    total: int  # this year's shingles


def section_reuse(section: str, current: str | None, previous: str | None) -> SectionReuse:
    cur, prev = shingles(reduce(current or "").text), shingles(reduce(previous or "").text)
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
    theirs = shingles(reduce(other or "").text)
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
