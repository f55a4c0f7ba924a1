"""The one document model every reader produces and every extractor reads.

A Document is the report's content in reading order: paragraphs of text and tables. A table
is a list of rows; each row holds only the cells that *start* in it (a cell spanning rows or
columns appears once, with its spans), which is also how text dumps of Word files print
them. Every cell and paragraph keeps where it came from, so a field's provenance is one hop.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

Source = Literal["native", "ocr"]
# Fewer characters of text than this beside a document's pictures: the pictures are the report
# (a scan saved as Word or HTML), so all of them are OCR'd, not only those holding a table.
SCANNED_TEXT_CHARS = 200


class Provenance(BaseModel):
    page: int | None = None  # 1-based; None where the format has no pages
    bbox: tuple[float, float, float, float] | None = None  # x0, y0, x1, y1 in PDF points
    source: Source = "native"
    score: float | None = None  # recognition confidence where OCR read it
    # OCR's readings of a number cell, best first, with their scores, where it had more than
    # one: the template extractor lets the table's arithmetic choose (template/settle.py)
    candidates: list[tuple[str, float]] | None = None
    # A picture inside a DOCX or HTML file (its part name or src) that OCR read this from;
    # page then counts the picture's frames, and bbox is on the page that
    # readers.pictures.picture_pages makes of it.
    image: str | None = None


class Cell(BaseModel):
    text: str
    row: int  # position in the table's grid, 0-based
    col: int
    rowspan: int = 1
    colspan: int = 1
    prov: Provenance = Field(default_factory=Provenance)


class Table(BaseModel):
    id: str  # "t3": the table's order in the document
    rows: list[list[Cell]]
    prov: Provenance = Field(default_factory=Provenance)

    def row_texts(self) -> list[list[str]]:
        return [[c.text for c in row] for row in self.rows]


# What a reader knows a paragraph to be besides report text, from the file's structure:
# "chrome": inside a web page's footer, navigation or header (by element, ARIA role or the
# class names sites give them); "outside": after the page's article container; "links": a
# line that is mostly link text. Text sections end at chrome (template/sections.py).
Furniture = Literal["chrome", "outside", "links"]


class Paragraph(BaseModel):
    text: str
    prov: Provenance = Field(default_factory=Provenance)
    furniture: Furniture | None = None


class Image(BaseModel):
    """A picture in the report. Tables published as pictures are common, so an image where
    a template table should be tells the extractor the table is there but unread (OCR's job)."""
    name: str | None = None  # file name or src, where the format has one
    prov: Provenance = Field(default_factory=Provenance)


class Block(BaseModel):
    """One item of the reading order: exactly one of paragraph, table or image is set."""
    paragraph: Paragraph | None = None
    table: Table | None = None
    image: Image | None = None


class Document(BaseModel):
    path: str
    format: str  # txt, html, docx, pdf, doc, wps, ...
    blocks: list[Block] = Field(default_factory=list)
    pages: int | None = None
    # An HTML page's <title>, where a portal adds its own name to the report's
    # (2023年度政府信息公开工作年度报告_某某区人民政府): a source of the agency and year
    # (template/meta.py).
    title: str | None = None
    ocr_pages: list[int] = Field(default_factory=list)  # 1-based pages with no text layer
    # Parts of the file a reader left out or read only as text (a cap reached, a broken
    # reference), one line each: the report is read, and what it lost can be told.
    warnings: list[str] = Field(default_factory=list)

    def paragraphs(self) -> list[Paragraph]:
        return [b.paragraph for b in self.blocks if b.paragraph is not None]

    def tables(self) -> list[Table]:
        return [b.table for b in self.blocks if b.table is not None]

    def text_length(self) -> int:
        """Characters of text in paragraphs and table cells (pictures not counted)."""
        return sum(len(p.text) for p in self.paragraphs()) + \
            sum(len(c.text) for t in self.tables() for row in t.rows for c in row)

    def looks_scanned(self) -> bool:
        """Pictures with almost no text around them: a scan, in whatever wrapper."""
        return any(b.image is not None for b in self.blocks) and self.text_length() < SCANNED_TEXT_CHARS


class DocumentBuilder:
    """Collects blocks in reading order and numbers the tables."""

    def __init__(self, path: str, fmt: str):
        self.doc = Document(path=path, format=fmt)
        self._tables = 0

    def paragraph(self, text: str, prov: Provenance | None = None,
                  furniture: Furniture | None = None) -> None:
        text = text.strip()
        if text:
            # Readers hand over well-typed values: constructing without validation keeps a
            # long document's thousands of paragraphs cheap.
            para = Paragraph.model_construct(text=text, prov=prov or Provenance(), furniture=furniture)
            self.doc.blocks.append(Block.model_construct(paragraph=para))

    def image(self, name: str | None = None, prov: Provenance | None = None) -> None:
        self.doc.blocks.append(Block(image=Image(name=name, prov=prov or Provenance())))

    def table(self, rows: list[list[Cell]], prov: Provenance | None = None) -> Table | None:
        rows = [r for r in rows if r]
        if not rows:
            return None
        table = Table(id=f"t{self._tables}", rows=rows, prov=prov or Provenance())
        self._tables += 1
        self.doc.blocks.append(Block(table=table))
        return table
