"""DOCX files via python-docx, with the template's horizontal and vertical merges; tables
pasted as pictures are inline images 15 cm wide; a chosen font set as the document's
default for Chinese and Latin text alike."""

from __future__ import annotations

import datetime as dt
import io
import zipfile

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
from docx.oxml.ns import qn
from docx.shared import Cm, Emu, Pt

from extractors.synth.blocks import Block, Para, Picture, Table, grid


def _add_table(doc, table: Table) -> None:
    slots = grid(table)
    if table.top:
        _new_page_down(doc, table.top)
    out = doc.add_table(rows=len(slots), cols=table.ncols)
    out.style = "Table Grid"
    # Cells taken once before merging (table.cell() rescans the whole table on each call);
    # spans never overlap, so no merge invalidates a cell another merge needs.
    pristine = [list(row.cells) for row in out.rows]
    for r, line in enumerate(slots):
        for c, slot in enumerate(line):
            if not slot.starts_at(r, c):
                continue
            cell = pristine[r][c]
            if slot.cell.rowspan > 1 or slot.cell.colspan > 1:
                cell = cell.merge(pristine[r + slot.cell.rowspan - 1][c + slot.cell.colspan - 1])
            first, *rest = slot.cell.text.split("\n")
            cell.text = first
            for line_text in rest:  # a label broken across lines: a paragraph per line
                cell.add_paragraph(line_text)


def _new_page_down(doc, share: float) -> None:
    """A new page and an empty paragraph of exact height, so that what follows starts
    `share` of the page down (an exact line height holds where space-before may not)."""
    section = doc.sections[-1]
    p = doc.add_paragraph()
    p.paragraph_format.page_break_before = True
    p.paragraph_format.space_before = p.paragraph_format.space_after = Pt(0)
    p.paragraph_format.line_spacing_rule = WD_LINE_SPACING.EXACTLY
    p.paragraph_format.line_spacing = Emu(round(share * section.page_height - section.top_margin))


def _add_picture(doc, picture: Picture) -> None:
    doc.add_picture(io.BytesIO(picture.data), width=Cm(15))
    doc.paragraphs[-1].alignment = WD_ALIGN_PARAGRAPH.CENTER


def _add_para(doc, para: Para) -> None:
    p = doc.add_paragraph()
    run = p.add_run(para.text)
    if para.role == "title":
        p.alignment = WD_ALIGN_PARAGRAPH.CENTER
        run.bold, run.font.size = True, Pt(16)
    elif para.role == "heading":
        run.bold = True
    elif para.role == "body":
        p.paragraph_format.first_line_indent = Pt(21)


def _set_font(doc, family: str) -> None:
    """Every run's font, table cells' too, through the document defaults: explicit names
    instead of the theme's (a theme font would win over a name in the same element)."""
    fonts = doc.styles.element.find(qn("w:docDefaults")).find(qn("w:rPrDefault")).find(
        qn("w:rPr")).find(qn("w:rFonts"))
    for theme in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
        fonts.attrib.pop(qn(theme), None)
    for script in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        fonts.set(qn(script), family)


def _fixed_zip(data: bytes, when: tuple[int, ...]) -> bytes:
    """Rewrite the package with fixed member timestamps: same seed, same bytes."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(zipfile.ZipInfo(info.filename, date_time=when), src.read(info.filename),
                         compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()


def render_docx(blocks: list[Block], year: int, font: str = "") -> bytes:
    doc = Document()
    if font:
        _set_font(doc, font)
    when = dt.datetime(year + 1, 1, 15, 9, 0, 0)
    doc.core_properties.created = doc.core_properties.modified = when
    doc.core_properties.author = doc.core_properties.last_modified_by = ""
    for block in blocks:
        if isinstance(block, Table):
            _add_table(doc, block)
        elif isinstance(block, Picture):
            _add_picture(doc, block)
        else:
            _add_para(doc, block)
    buf = io.BytesIO()
    doc.save(buf)
    return _fixed_zip(buf.getvalue(), when.timetuple()[:6])
