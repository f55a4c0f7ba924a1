"""Synthetic 政府信息公开工作年度报告 with known gold, in the formats the pipeline reads.

    from extractors.synth import generate
    doc = generate(7, "2019", "html", errors=True, charset="gbk")
    doc.data, doc.gold          # the file's bytes and its gold label (spec format)
    doc.write(Path("out"))      # out/<name> and out/gold/<stem>.json

Keyword choices override the random layout (see layout.Layout), so a test can ask for
exactly the variant it checks; e.g. picture_tables=("requests",) pastes 三's table into a
DOCX or HTML report as an image (picture_format png|jpeg, picture_src data|file), with the
same gold as without. font="AR PL UKai CN" (one of fonts.FAMILIES) sets the report in a
Debian CJK font; typeset.py has LibreOffice or Chromium lay such a report out as a PDF.
"""

from __future__ import annotations

import copy
import json
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from extractors.standard_model import CHANGE_KEYS, OLDER_OTHER_KEYS, TEMPLATES, field_keys
from extractors.synth.check import Claim, violations
from extractors.synth.compose import Printed, compose
from extractors.synth.errors import choose, possible_rules, source_errors
from extractors.synth.blocks import Block, Picture
from extractors.synth.layout import Layout, random_layout
from extractors.synth.pictures import check_choices, picture_tables
from extractors.synth.render_docx import render_docx
from extractors.synth.render_html import render_html
from extractors.synth.render_pdf import render_pdf
from extractors.synth.render_text import render_text
from extractors.synth.texts import Sections, make_sections, paragraph_text
from extractors.synth.values import (blank_zero_cells, fold_other_rows, make_agency, make_numbers,
                                     make_year, older_active)

FORMATS = ("txt", "html", "docx", "pdf")


@dataclass
class Synthetic:
    name: str
    data: bytes
    gold: dict
    layout: Layout
    printed: Printed
    injected: list[str]  # the rules an error was aimed at; gold source_errors says what broke
    files: dict[str, bytes] = field(default_factory=dict)  # beside the page: <stem>_files/…

    @property
    def claims(self) -> list[Claim]:
        return _claims(self.printed.sections)

    def write(self, out_dir: Path) -> Path:
        path = out_dir / self.name
        (out_dir / "gold").mkdir(parents=True, exist_ok=True)
        path.write_bytes(self.data)
        for relative, data in self.files.items():
            (out_dir / relative).parent.mkdir(parents=True, exist_ok=True)
            (out_dir / relative).write_bytes(data)
        (out_dir / "gold" / f"{path.stem}.json").write_text(
            json.dumps(self.gold, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        return path


def _claims(sections: Sections) -> list[Claim]:
    return [p for para in sections.overview for p in para if isinstance(p, Claim)]


def _text(paragraphs) -> str:
    return "\n".join(t for t in (paragraph_text(p).strip() for p in paragraphs) if t)


def generate(seed: int, template: str, fmt: str, errors: bool | Sequence[str] = False,
             name: str | None = None, **choices: object) -> Synthetic:
    """One report. `errors`: True for 1–2 random source errors, or the rules to break
    (R1…R6, X1). Same arguments, same bytes and gold."""
    if template not in TEMPLATES or fmt not in FORMATS:
        raise ValueError(f"template must be one of {TEMPLATES}, fmt one of {FORMATS}")

    def rng(part: str) -> random.Random:
        return random.Random(f"{seed}:{template}:{part}")

    agency = make_agency(rng("agency"))
    year = make_year(rng("year"), template)
    layout = random_layout(rng("layout"), template).with_choices(**choices)
    if layout.picture_tables:
        check_choices(layout, fmt)
    named = agency.name if layout.title != "none" else None

    fields: dict[str, object] = dict.fromkeys(field_keys(template))
    fields.update(make_numbers(rng("numbers"), template, agency.level))
    fields.update({"meta.agency": named, "meta.year": year, "meta.template": template})
    if layout.blank_zeros:
        blank_zero_cells(fields, rng("blanks"), layout.blank_zeros)
    if layout.active == "missing":
        fields.update({k: None for k in fields if k.startswith("active.")})
    if (layout.older_other or layout.older_active) and template != "2021":
        raise ValueError("older_other and older_active are older pieces kept in a 2021 report")
    if layout.older_other:
        fold_other_rows(fields)
    # 二 in 2019's columns: figures printed with no 2021 key, from a stream of their own
    older_printed = (older_active(rng("older-active"), agency.level, fields)
                     if layout.older_active and layout.active != "missing" else {})
    # 252（减18）: the count shows only beside a real change, and only where 二 is printed.
    this_year = {k.rsplit(".", 1)[0]: fields[k.replace(".change", ".prev")] + fields[k]
                 for k in field_keys(template) if k in CHANGE_KEYS and fields[k]
                 and layout.change_style == "count"}
    subheads = "arabic" if layout.heading_numbers == "paren" else "paren"
    sections = make_sections(rng("texts"), fields, template, year, named, agency.we, subheads)
    if violations(fields, template, _claims(sections), this_year):
        raise AssertionError("generator bug: a clean report breaks a rule")

    wanted = _wanted_rules(errors, rng("error-rules"), template, this_year, _claims(sections))
    fields, this_year, sections, errors_found = _inject_all(
        rng("error-cells"), wanted, template, fields, this_year, sections)

    for key, section in (("text.overview", sections.overview), ("text.problems", sections.problems),
                         ("text.other", sections.other)):
        fields[key] = _text(section)
    printed = Printed(template, year, named, {**fields, **older_printed}, this_year, sections)
    blocks = compose(printed, layout, rng("compose"))
    if layout.picture_tables:
        blocks = picture_tables(blocks, layout, rng("pictures"))
    name = name or f"synth_{template}_{seed}.{fmt}"
    files = f"{Path(name).stem}_files" if fmt == "html" and layout.picture_src == "file" else ""
    if fmt == "txt":
        data = render_text(blocks, layout).encode("utf-8")
    elif fmt == "html":
        data = render_html(blocks, layout, rng("html"), year, files)
    elif fmt == "docx":
        data = render_docx(blocks, year, layout.font)
    else:
        data = render_pdf(blocks, layout, year)
    keys = field_keys(template) + (OLDER_OTHER_KEYS if layout.older_other else ())
    gold = {"document": name, "template": template,
            "fields": {k: fields[k] for k in keys},
            "source_errors": errors_found}
    return Synthetic(name, data, gold, layout, printed, list(wanted), _files(blocks, files))


def _files(blocks: list[Block], folder: str) -> dict[str, bytes]:
    """The pictures an HTML page links to rather than holds."""
    if not folder:
        return {}
    return {f"{folder}/{b.name}": b.data for b in blocks if isinstance(b, Picture)}


def _wanted_rules(errors: bool | Sequence[str], rng: random.Random, template: str,
                  this_year: dict[str, int], claims: list[Claim]) -> list[str]:
    possible = possible_rules(template, this_year, claims)
    if errors is True:
        return rng.sample(possible, rng.choice((1, 1, 1, 2)))
    wanted = list(errors or ())
    if set(wanted) - set(possible):
        raise ValueError(f"cannot inject {sorted(set(wanted) - set(possible))} here; "
                         f"possible: {possible}")
    return wanted


def _inject_all(rng: random.Random, wanted: list[str], template: str, fields: dict[str, object],
                this_year: dict[str, int], sections: Sections):
    """Perturb until every wanted rule shows: two perturbations can cancel each other out."""
    for _ in range(50):
        f, ty, sec = copy.deepcopy(fields), dict(this_year), copy.deepcopy(sections)
        claims, done = _claims(sec), []
        for rule in wanted:
            done.append(choose(rng, rule, template, f, claims, ty))
            done[-1].apply(f, claims, ty)
        found = violations(f, template, claims, ty)
        if set(wanted) <= {v.rule for v in found}:
            errors = source_errors(found, done, template, fields, _claims(sections), this_year)
            return f, ty, sec, errors
    raise RuntimeError(f"could not inject {wanted} visibly")
