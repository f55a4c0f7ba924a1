"""What to ask the LLM about: the sections the template extractor could not settle, each
rendered on its own (its prose, its tables with cell ids), never the whole report.

A section is unsettled when a field of it is in doubt or takes part in a failed rule blamed
on extraction. A failure blamed on the source is not: the LLM would read the same printed
figures. `verify` asks about every section that prints anything.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ..document import Block, Table
from ..result import Reading, RuleResult
from ..rules import TRUSTED
from ..standard_model import field_keys, is_numeric_key, section_of
from ..template.sections import Section
from ..template.values import is_value_text
from .settings import Mode

ASKED_SECTIONS = ("active", "requests", "appeals")
TITLES = {"active": "二、主动公开政府信息情况", "requests": "三、收到和处理政府信息公开申请情况",
          "appeals": "四、政府信息公开行政复议、行政诉讼情况"}
_NUMBER = re.compile(r"\d+(?:\.\d+)?")


@dataclass(frozen=True)
class SectionAsk:
    section: str  # active, requests or appeals
    template: str
    title: str  # the heading as the report prints it, or the template's
    content: str  # the section as sent: prose lines and tables with cell ids
    printed: frozenset[float]  # every number printed in it (to 4 decimals): what grounds an answer
    figures: tuple[float, ...]  # the non-zero numbers in its tables' value cells
    keys: tuple[str, ...]  # the standard-model keys the answer fills

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.content.encode("utf-8")).hexdigest()


def unsettled_sections(confidence: Mapping[str, float], rules: Iterable[RuleResult]) -> set[str]:
    """`confidence` by key (of readings, or of a result already written)."""
    doubtful = {k for k, c in confidence.items() if c < TRUSTED}
    for rule in rules:
        if rule.status == "fail" and rule.blame == "extraction":
            doubtful.update(rule.fields)
    return {section_of(k) for k in doubtful if is_numeric_key(k)}


def plan_asks(mode: Mode, template: str, sections: list[Section], tables: dict[str, list[Table]],
              readings: dict[str, Reading], rules: list[RuleResult]) -> list[SectionAsk]:
    if mode == "off":
        return []
    wanted = set(ASKED_SECTIONS) if mode == "verify" else unsettled_sections(
        {k: r.confidence for k, r in readings.items()}, rules)
    asks = []
    for name in ASKED_SECTIONS:
        if name in wanted:
            others = [t for other, found in tables.items() if other != name for t in found]
            ask = section_ask(name, template, [s for s in sections if s.key == name],
                              tables.get(name, []), others)
            if ask is not None:
                asks.append(ask)
    return asks


def section_ask(name: str, template: str, sections: list[Section], tables: list[Table],
                others: list[Table] = ()) -> SectionAsk | None:
    """The section rendered for the model, or None when it prints nothing to read (an empty
    section, or only pictures that OCR did not read). `others`: the template tables of the
    other sections, left out where a missed heading put one inside this section."""
    elsewhere = {id(t) for t in others}
    blocks: list[Block] = [b for s in sections for b in s.blocks
                           if b.table is None or id(b.table) not in elsewhere]
    inline = [s.inline_text for s in sections if s.inline_text]
    shown = {id(b.table) for b in blocks if b.table is not None}
    blocks += [Block(table=t) for t in tables if id(t) not in shown]  # found outside its section
    parts: list[str] = list(inline)
    printed: list[str] = list(inline)
    figures: list[float] = []
    for block in blocks:
        if block.paragraph is not None and block.paragraph.text.strip():
            parts.append(_one_line(block.paragraph.text))
            printed.append(block.paragraph.text)
        elif block.table is not None:
            parts.append(render_table(block.table))
            for row in block.table.rows:
                for cell in row:
                    printed.append(cell.text)
                    if is_value_text(cell.text):
                        figures += [n for n in _numbers(cell.text) if n]
    if not any(p.strip() for p in parts):
        return None
    title = sections[0].heading if sections else TITLES[name]
    keys = tuple(k for k in field_keys(template) if section_of(k) == name)
    return SectionAsk(name, template, title, "\n".join(parts),
                      frozenset(n for text in printed for n in _numbers(text)), tuple(figures), keys)


def render_table(table: Table) -> str:
    """Markdown with cell ids: columns c0… in the first line, rows r0… in the first column;
    a cell covered by a merge shows `<` (merged with the left) or `^` (with the one above)."""
    grid: dict[tuple[int, int], str] = {}
    for row in table.rows:
        for cell in row:
            for dr in range(cell.rowspan):
                for dc in range(cell.colspan):
                    grid[cell.row + dr, cell.col + dc] = (
                        _one_line(cell.text).replace("|", "｜") if (dr, dc) == (0, 0) else "<" if dr == 0 else "^")
    height = max(r for r, _ in grid) + 1
    width = max(c for _, c in grid) + 1
    lines = [f"表{table.id}", "||" + "|".join(f"c{c}" for c in range(width)) + "|"]
    for r in range(height):
        lines.append(f"|r{r}|" + "|".join(grid.get((r, c), "") for c in range(width)) + "|")
    return "\n".join(lines)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _numbers(text: str) -> list[float]:
    return [round(float(n), 4) for n in _NUMBER.findall(unicodedata.normalize("NFKC", text).replace(",", ""))]
