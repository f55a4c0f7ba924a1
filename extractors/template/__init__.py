"""The template extractor: a Document in, every field of the standard model out, each with
a confidence and its provenance. Tables are found by their labels, never by position."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..document import Document, Table
from ..errors import NotAReport, ReadError
from ..result import FieldProvenance, ProseFigure, Reading
from ..standard_model import (OTHER_SUBROWS, field_keys, prints_older_other,
                              section_of)
from .active_table import is_active_table, read_active
from .appeals_table import is_appeals_table, read_appeals
from .meta import detect_template, meta_readings
from .prose import prose_figures
from .requests_table import is_requests_table, read_requests
from .rows import (CONF_ROW_MISSING, CONF_TABLE_ABSENT, CONF_TABLE_NOT_FOUND, RowView,
                   absent_reading, table_rows)
from .sections import Section, split_sections, text_readings
from .confirm import confirm_by_arithmetic
from .settle import cells_with_candidates, settle_by_rules

_TABLE_NAMES = {"active": "二", "requests": "三", "appeals": "四"}
# Where a report states its year for itself (not a year guessed from the text it mentions most)
_STATED_YEAR = {"title", "period", "html_title", "header", "paragraph", "signature"}
_REPORT_WORDS = re.compile(r"政府信息公开.{0,6}(年度报告|年报)")
_OLDER_OTHER_NOTE = ("the report prints the older single row （六）其他处理, recorded as "
                     "requests.other; this sub-row is not printed")


@dataclass
class Extraction:
    template: str
    readings: dict[str, Reading]
    prose: list[ProseFigure] = field(default_factory=list)
    # What the LLM step renders for a section it is asked about: the report's sections, and
    # the template tables found for active/requests/appeals (wherever they were printed).
    sections: list[Section] = field(default_factory=list)
    tables: dict[str, list[Table]] = field(default_factory=dict)


def extract_fields(doc: Document) -> Extraction:
    preamble, sections = split_sections(doc)
    tables = [table_rows(t) for t in doc.tables()]  # each row split once into label and values
    found: dict[str, list] = {"requests": [], "appeals": [], "active": []}
    for rows in tables:
        if is_requests_table(rows):
            found["requests"].append(rows)
        elif is_appeals_table(rows):
            found["appeals"].append(rows)
        elif is_active_table(rows):
            found["active"].append(rows)
    paragraphs = [p.text for p in doc.paragraphs()]
    if not any(found.values()) and not _has_report_headings(sections, paragraphs):
        if doc.ocr_pages:
            raise ReadError("needs_ocr", f"{doc.path}: pages {_page_list(doc.ocr_pages)} are pictures "
                            "with no text layer (a scan) and no text read from them: OCR is off "
                            "(NIANBAO_OCR=off), has no engine installed, or found no text")
        if doc.looks_scanned() and doc.format != "txt":
            raise ReadError("needs_ocr", f"{doc.path}: the report's content is in pictures and "
                            "no text was read from them: OCR is off (NIANBAO_OCR=off), has no "
                            "engine installed, or found no text")
        raise NotAReport(f"{doc.path}: no table of the 年度报告 template and none of its section "
                         "headings (一、总体情况 … 六、其他需要报告的事项); not an annual "
                         "information-disclosure report")

    meta = meta_readings(doc, preamble)  # agency and year from every place the report states them
    year = meta["meta.year"].value
    template, template_from_tables = detect_template(
        found["requests"] + found["active"] + found["appeals"], year)
    if year is not None and year >= 2021 and (meta["meta.year"].prov.method in _STATED_YEAR
                                               or not template_from_tables):
        # The template in force for the year; older pieces of the table that a later report
        # keeps (2019's columns in 二, the single （六）其他处理 row) are read by their labels.
        # A year guessed from the text does not overrule tables that say 2019.
        template = "2021"

    readings: dict[str, Reading] = {}
    readings.update(read_active(found["active"], template))
    readings.update(read_requests(found["requests"], template, grid_reliable=doc.format != "txt"))
    readings.update(read_appeals(found["appeals"]))
    # OCR's doubtful figures chosen among their readings by the tables' rules, before
    # anything else judges them (rules, review, the LLM's asks)
    settle_by_rules(readings, cells_with_candidates(readings, doc.tables()), template)
    confirm_by_arithmetic(readings, template)
    _fill_missing(readings, template, found, sections)

    readings["meta.template"] = _meta("meta.template", template, 0.99 if template_from_tables else 0.6,
                                      None if template_from_tables else "template version inferred "
                                      "from the year: no template table header was recognised")
    readings.update(meta | text_readings(sections))  # text sections with their tails judged
    return Extraction(template, readings, prose_figures(paragraphs, template), sections,
                      {name: [rows[0].table for rows in found[name] if rows] for name in found})


def _has_report_headings(sections: list[Section], paragraphs: list[str]) -> bool:
    """Whether a document without template tables is a report whose tables were lost: it
    has the template's section headings (一、总体情况 … 六、其他需要报告的事项), two of them,
    or one under a 年度报告 title. A notice, an article or a README that only mentions the
    年度报告 has at most one such heading by chance."""
    headings = len({s.key for s in sections if s.key})
    titled = any(_REPORT_WORDS.search(p) for p in paragraphs[:30])
    return headings >= 2 or (headings == 1 and titled)


def _page_list(pages: list[int]) -> str:
    return f"{pages[0]}–{pages[-1]}" if len(pages) > 3 else ", ".join(map(str, pages))


def _meta(key: str, value, confidence: float, note: str | None) -> Reading:
    return Reading(key=key, value=value, confidence=confidence,
                   prov=FieldProvenance(method="title" if value is not None else "absent", note=note))


def _fill_missing(readings: dict[str, Reading], template: str, found: dict[str, list[list[RowView]]],
                  sections: list[Section]) -> None:
    older_other = prints_older_other(template, readings)
    for key in field_keys(template):
        section = section_of(key)
        if section not in _TABLE_NAMES or key in readings:
            continue
        name = _TABLE_NAMES[section]
        if older_other and key.split(".")[1] in OTHER_SUBROWS:
            readings[key] = absent_reading(key, CONF_TABLE_ABSENT, _OLDER_OTHER_NOTE)
        elif found[section]:
            readings[key] = absent_reading(key, CONF_ROW_MISSING, f"not found in table {name}")
        elif _section_is_empty(sections, section):
            readings[key] = absent_reading(key, CONF_TABLE_ABSENT,
                                           f"the report prints no table {name}: its section is empty")
        else:
            readings[key] = absent_reading(key, CONF_TABLE_NOT_FOUND,
                                           f"table {name} not found (a picture, or a layout not read)")


def _section_is_empty(sections: list[Section], key: str) -> bool:
    matches = [s for s in sections if s.key == key]
    return bool(matches) and all(not s.blocks and not s.inline_text for s in matches)
