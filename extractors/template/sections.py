"""The report's top-level sections (一、总体情况 … 六、其他需要报告的事项) and their text.

Sections are found by what their headings say, not by their numbers: reports renumber
them (七、存在的主要问题…) and insert sections of their own. A text section's body runs to
the next top-level heading, or less: page furniture ends it, and chart residue and OCR
garbage of embedded pictures are not part of it (section_end.py).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from rapidfuzz import fuzz

from ..document import Block, Document
from ..result import FieldProvenance, Reading
from ..standard_model import TEXT_KEYS
from .section_end import section_body

_TOP_HEADING = re.compile(r"^\s*([一二三四五六七八九十]{1,2})\s*[、.．，,]\s*(\S.*)$")
_SECTION_WORDS = (
    ("overview", ("总体情况",)),
    ("active", ("主动公开",)),
    ("requests", ("收到和处理", "依申请公开", "申请情况")),
    ("appeals", ("行政复议", "行政诉讼")),
    ("problems", ("存在的主要问题", "主要问题", "存在问题", "问题及改进", "问题和改进")),
    ("other", ("其他需要报告", "其他事项")),
)
_MAX_HEADING = 40
_MARKER = re.compile(r"\[(?:bookmark|image|图片|chart)[^\]]*\]", re.I)
_SENTENCE_PUNCT = re.compile(r"[。；;，,：:！？]")


@dataclass
class Section:
    key: str | None  # overview, active, requests, appeals, problems, other; None: unknown
    heading: str
    blocks: list[Block] = field(default_factory=list)
    inline_text: str = ""  # body text printed on the heading's own line
    # The heading sits where the reader marked page furniture (Paragraph.furniture): the
    # marks of that page are wrong, since a report's heading is never furniture.
    in_furniture: bool = False


def section_key(heading: str) -> str | None:
    for key, words in _SECTION_WORDS:
        if any(w in heading for w in words):
            return key
    return None


def split_sections(doc: Document) -> tuple[list[Block], list[Section]]:
    """Blocks before the first heading (title, preamble), then each top-level section."""
    preamble: list[Block] = []
    sections: list[Section] = []
    number = 0  # the last top-level number: sub-items numbered 一、二、 inside a section
    # restart from 一 and are not sections
    for block in doc.blocks:
        heading = _heading(block)
        if heading is None:
            heading = _unnumbered_heading(block, number + 1)
            if heading is not None and sections and sections[-1].key == section_key(heading[0]):
                heading = None  # 无其他需要报告的事项 under 六、其他需要报告的事项: its text
        if heading is not None and heading[2] > number:
            title, inline, number = heading
            sections.append(Section(section_key(title), title, inline_text=inline,
                                    in_furniture=block.paragraph.furniture in ("chrome", "outside")))
        elif sections:
            sections[-1].blocks.append(block)
        else:
            preamble.append(block)
    return preamble, sections


def _heading(block: Block) -> tuple[str, str, int] | None:
    if block.paragraph is None:
        return None
    text = unicodedata.normalize("NFKC", _MARKER.sub("", block.paragraph.text)).strip()
    m = _TOP_HEADING.match(text)
    if not m:
        return None
    number = _numeral(m.group(1))
    rest = m.group(2).strip()
    key = section_key(rest[:_MAX_HEADING])
    if len(rest) <= _MAX_HEADING and not re.search(r"[。；]", rest[:-1] if rest else rest):
        return rest, "", number
    if key in ("overview", "problems", "other"):
        # "一、总体情况。2020年，我局……": heading and body on one line.
        for _, words in _SECTION_WORDS:
            for w in words:
                i = rest.find(w)
                if 0 <= i < 20:
                    cut = re.match(r"[^。；：:]*[。；：:]?", rest[i:])
                    end = i + (cut.end() if cut else len(w))
                    return rest[:end].rstrip("。；：: "), rest[end:].strip(), number
    return None


_CANONICAL = {
    "overview": "总体情况", "active": "主动公开政府信息情况", "requests": "收到和处理政府信息公开申请情况",
    "appeals": "政府信息公开行政复议、行政诉讼情况", "problems": "存在的主要问题及改进情况",
    "other": "其他需要报告的事项",
}


def _unnumbered_heading(block: Block, number: int) -> tuple[str, str, int] | None:
    """A heading whose number Word generates (list numbering) arrives without it."""
    if block.paragraph is None:
        return None
    text = unicodedata.normalize("NFKC", block.paragraph.text).strip()
    key = section_key(text)
    if key is None or len(text) > 24 or _SENTENCE_PUNCT.search(text):
        return None
    if fuzz.ratio(text, _CANONICAL[key]) < 70:
        return None
    return text, "", number


def _numeral(text: str) -> int:
    digits = "一二三四五六七八九"
    if text == "十":
        return 10
    if text.startswith("十"):
        return 10 + digits.index(text[1]) + 1
    if text.endswith("十"):
        return (digits.index(text[0]) + 1) * 10
    return digits.index(text[0]) + 1


CONF_TEXT, CONF_TEXT_DOUBT, CONF_TEXT_ABSENT = 0.9, 0.6, 0.5


def text_readings(sections: list[Section]) -> dict[str, Reading]:
    """text.overview, text.problems, text.other, each from its section; a tail in
    doubt sends the field to review with its reason."""
    by_key = {s.key: s for s in sections if s.key}  # a kind printed twice: the last
    marks = not any(s.in_furniture for s in sections)
    readings = {}
    for key in TEXT_KEYS:
        section = by_key.get(key.split(".", 1)[1])
        body = section_body(section.blocks, section.inline_text, marks) if section else None
        if body is None or body.text is None:
            readings[key] = Reading(key=key, value=None, confidence=CONF_TEXT_ABSENT, prov=FieldProvenance(
                method="absent", label=section.heading if section else None, note="section not found or empty"))
            continue
        readings[key] = Reading(key=key, value=body.text,
                                confidence=CONF_TEXT_DOUBT if body.doubt else CONF_TEXT,
                                prov=FieldProvenance(method="prose", label=section.heading,
                                                     note=f"section text kept whole, but {body.doubt}"
                                                     if body.doubt else None))
    return readings
