"""What extraction produces for one document: fields with confidence and provenance, rule
results with blame, and the review queue. This is the per-document JSON of `nianbao extract`."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, Field, field_serializer

Value = int | float | str | None

_SURROGATE = re.compile("[\ud800-\udfff]")
_WORDS = re.compile(r"([\s/]+)")  # bytes no GB18030 character holds: the bytes between stay whole


def os_text(text: str) -> str:
    """Text that may hold names from the file system, made writable as UTF-8. os.fsdecode
    keeps the bytes of a name that is not UTF-8 as lone surrogates, which JSON, CSV and
    database writers refuse: each word holding them is decoded as GB18030 (what Chinese
    Windows and its zip tools write names in), or else its bytes are shown as \\xNN."""
    if not _SURROGATE.search(text):
        return text
    return "".join(_os_word(w) if _SURROGATE.search(w) else w for w in _WORDS.split(text))


def _os_word(word: str) -> str:
    try:
        raw = word.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a surrogate that stands for no byte ('\ud800')
        return word.encode("utf-8", "backslashreplace").decode("utf-8")
    try:
        return raw.decode("gb18030")
    except UnicodeDecodeError:
        return raw.decode("utf-8", "backslashreplace")


# FieldProvenance and Reading are plain dataclasses: a report has ~200 of each, and building
# them as pydantic models cost more than the rest of the extraction. Pydantic still
# validates and serialises FieldProvenance inside DocumentResult.
@dataclass(slots=True)
class FieldProvenance:
    """Where a value came from: a table cell, a span of prose, or nowhere (absent)."""
    # title, html_title, header, paragraph, period, signature, text: where meta.agency or
    # meta.year was read (template/meta.py)
    method: Literal["table", "prose", "title", "html_title", "header", "paragraph", "period",
                    "signature", "text", "absent", "llm"]
    table: str | None = None  # table id in the Document
    row: int | None = None
    col: int | None = None
    raw: str | None = None  # the text as printed
    label: str | None = None  # the row label that was matched
    page: int | None = None
    bbox: tuple[float, float, float, float] | None = None
    source: Literal["native", "ocr"] = "native"
    note: str | None = None
    image: str | None = None  # the picture in a DOCX/HTML file it was read from (Provenance.image)


@dataclass(slots=True)
class Reading:
    """One field as an extractor read it."""
    key: str
    prov: FieldProvenance
    value: Value = None
    confidence: float = 0.0
    stated: int | None = None  # this year's count printed beside a change, e.g. 252 of 252（减18）


class ProseFigure(BaseModel):
    """A figure the report's prose states for the sum of some table fields (rule X1)."""
    fields: tuple[str, ...]  # summed to compare with the prose
    value: int
    text: str  # the phrase as printed
    related: tuple[str, ...] = ()  # also named by the phrase, reported with a failure


class RuleResult(BaseModel):
    rule: str  # R1..R6, X1
    scope: str  # "column natural", "row granted", "group review", "field active.fees.change"
    status: Literal["pass", "fail"]
    blame: Literal["source", "extraction"] | None = None  # set on failures only
    fields: list[str]
    detail: str = ""  # e.g. "7 + 0 ≠ 6 + 0"


class ReviewItem(BaseModel):
    field: str
    reason: str


class LlmAnswer(BaseModel):
    """What the LLM said about one section of a document, and what it cost."""
    section: str  # active, requests or appeals
    status: Literal["answered", "cached", "error", "budget", "not_configured"]
    values: dict[str, Value] | None = None  # standard-model keys → the model's values
    requests: int = 0  # HTTP requests, retries and feedback rounds included
    prompt_tokens: int = 0  # as the endpoint reports them
    completion_tokens: int = 0
    error: str | None = None
    feedback: list[str] = Field(default_factory=list)  # rule failures sent back to the model


class LlmRecord(BaseModel):
    mode: Literal["fallback", "verify"]
    reader: str | None = None  # model|answer mode|prompt version; None: no endpoint configured
    answers: list[LlmAnswer] = Field(default_factory=list)
    requests: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def unanswered(self) -> bool:
        """Some section still waits for an answer: a rerun with an endpoint should ask."""
        return any(a.status in ("error", "budget", "not_configured") for a in self.answers)


class DocumentResult(BaseModel):
    document: str  # file name
    sha256: str
    status: Literal["ok", "not_a_report", "error"] = "ok"
    error: str | None = None
    error_code: str | None = None
    format: str | None = None
    extractor_version: str
    template: Literal["2019", "2021"] | None = None
    fields: dict[str, Value] = Field(default_factory=dict)
    confidence: dict[str, float] = Field(default_factory=dict)
    provenance: dict[str, FieldProvenance] = Field(default_factory=dict)
    review: list[ReviewItem] = Field(default_factory=list)
    rules: list[RuleResult] = Field(default_factory=list)
    llm: LlmRecord | None = None  # set when sections were (to be) asked of the LLM
    # parts of the file the reader left out or read only as text (a cap reached, a broken
    # picture): the report is read without them, and fields they held say so in review
    warnings: list[str] = Field(default_factory=list)

    # The file's name, and error messages that quote it, may hold bytes that are not UTF-8.
    # Cleaned when written, not when set: the pipeline assigns `error` after construction.
    @field_serializer("document", "error")
    def _writable(self, text: str | None) -> str | None:
        return None if text is None else os_text(text)
