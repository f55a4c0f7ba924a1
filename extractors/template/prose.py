"""Figures that a report's prose states for fields of table 三 and 四 (checked by rule X1).

E.g. 共收到政府信息公开申请17件 → requests.new.total; 其中予以公开16宗 → requests.granted.total.
Only sentences about 政府信息公开申请 are read, and a breakdown (予以公开、不予公开 …) only after
the sentence has stated its total, because reports use the same words for other counts
(政策文件……其中主动公开16件、不予公开1件). A figure of more digits than a count can have
(values.MAX_DIGITS) is not read: there is no count to compare it with.
"""

from __future__ import annotations

import re
import unicodedata

from ..result import ProseFigure
from ..standard_model import REQUEST_ROWS
from .values import MAX_DIGITS

_UNIT = r"(?:件|宗|个|份)"
# A figure: the gap before it takes no digit and a unit must follow, so a longer number is
# not read at all, never by its head.
_N = rf"(\d{{1,{MAX_DIGITS}}})"
_GAP = r"[^，,。；;：:\d]{0,12}?"
_WITH_CARRIED = re.compile(r"[(（][^)）]{0,4}(上年|结转)")
_NO_CHANGE = re.compile(r"增|减|多|少|比|同比|结转|上年|下年")


def _rows(template: str, prefix: str) -> tuple[str, ...]:
    return tuple(f"requests.{r}.total" for r in REQUEST_ROWS[template] if r.startswith(prefix))


# Totals that open a sentence about applications.
_TOTALS = (
    (re.compile(rf"(?:新?收到|受理|新收){_GAP}申请{_GAP}{_N}{_UNIT}"), lambda t: ("requests.new.total",)),
    # 办理 counts what was handled; reports use it for the total of results, and it is
    # often meant as the applications received too, so a failure names both.
    (re.compile(rf"办理{_GAP}申请{_GAP}{_N}{_UNIT}"), lambda t: ("requests.total.total",)),
    (re.compile(rf"答复{_GAP}申请{_GAP}{_N}{_UNIT}"), lambda t: ("requests.total.total",)),
    (re.compile(rf"办结{_GAP}{_N}{_UNIT}"), lambda t: ("requests.total.total",)),
)
# The breakdown that may follow in the same sentence.
_CARRIED = (
    (re.compile(rf"上年(?:度)?结转{_GAP}{_N}{_UNIT}"), lambda t: ("requests.carried.total",)),
    (re.compile(rf"结转(?:至|到)?下一?年度?{_GAP}{_N}{_UNIT}"), lambda t: ("requests.carry_forward.total",)),
)
_PARTS = (
    (re.compile(rf"(?:予以公开|同意公开){_GAP}{_N}{_UNIT}"), lambda t: ("requests.granted.total",)),
    (re.compile(rf"部分公开{_GAP}{_N}{_UNIT}"), lambda t: ("requests.partial.total",)),
    (re.compile(rf"不予公开{_GAP}{_N}{_UNIT}"), lambda t: _rows(t, "denied_")),
    (re.compile(rf"无法提供{_GAP}{_N}{_UNIT}"), lambda t: _rows(t, "unable_")),
    (re.compile(rf"不予处理{_GAP}{_N}{_UNIT}"), lambda t: _rows(t, "rejected_")),
    (re.compile(rf"其他处理{_GAP}{_N}{_UNIT}"),
     lambda t: ("requests.other.total",) if t == "2019" else _rows(t, "other_")),
)
_APPEALS = (
    (re.compile(rf"行政复议(?:案件)?{_GAP}{_N}(?:件|宗|起|个)"), ("review.total",)),
    (re.compile(rf"行政诉讼(?:案件)?{_GAP}{_N}(?:件|宗|起|个)"),
     ("suit_direct.total", "suit_after_review.total")),
)


def prose_figures(paragraphs: list[str], template: str) -> list[ProseFigure]:
    figures: list[ProseFigure] = []
    seen: set[tuple[str, ...]] = set()
    for paragraph in paragraphs:
        if "\t" in paragraph:  # chart residue, not prose
            continue
        text = unicodedata.normalize("NFKC", re.sub(r"\s+", "", paragraph))
        for sentence in re.split(r"[。!?！？]", text):
            for figure in _sentence_figures(sentence, template):
                if figure.fields not in seen:  # the first statement of a figure counts
                    seen.add(figure.fields)
                    figures.append(figure)
    return figures


def _sentence_figures(sentence: str, template: str) -> list[ProseFigure]:
    found: list[ProseFigure] = []
    if "申请" in sentence:
        opened_at = None
        for pattern, fields in _TOTALS:
            m = pattern.search(sentence)
            if m and not _NO_CHANGE.search(m.group(0)):
                related = ("requests.new.total",) if m.group(0).startswith("办理") else ()
                summed = fields(template)
                if _WITH_CARRIED.match(sentence, m.end()):
                    # 收到申请18件（含上年结转3件）: the figure is new + carried.
                    summed = summed + ("requests.carried.total",)
                found.append(ProseFigure(fields=summed, value=int(m.group(1)),
                                         text=m.group(0), related=related))
                opened_at = m.end() if opened_at is None else min(opened_at, m.end())
        if opened_at is not None:
            rest = sentence[opened_at:]
            for pattern, fields in _PARTS:
                m = pattern.search(rest)
                if m and not _NO_CHANGE.search(m.group(0)):
                    found.append(ProseFigure(fields=fields(template), value=int(m.group(1)), text=m.group(0)))
            for pattern, fields in _CARRIED:
                m = pattern.search(rest)
                if m:
                    found.append(ProseFigure(fields=fields(template), value=int(m.group(1)), text=m.group(0)))
    for pattern, fields in _APPEALS:
        m = pattern.search(sentence)
        if m and "政府信息公开" in sentence or m and "信息公开" in m.group(0):
            found.append(ProseFigure(fields=fields, value=int(m.group(1)), text=m.group(0)))
    return found
