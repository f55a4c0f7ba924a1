"""One document through the whole path: read → document model → extract → check → [ask the
LLM about what is unsettled → check again] → flag.

Two stages, so that the LLM's questions can be asked away from the CPU work: `first_pass`
reads, extracts and checks, and says which sections to ask about; `finish` weighs the
answers in, checks again and builds the review queue. `extract_file` runs both in turn.
Pure functions with no Prefect in them; flows/ wraps them in tasks.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from .errors import NotAReport, ReadError
from .llm.asks import SectionAsk, plan_asks
from .llm.merge import confirm_by_rules, merge_answer, note_unanswered
from .llm.settings import Mode
from .readers import check_size, read
from .result import DocumentResult, LlmAnswer, LlmRecord, ProseFigure, Reading, RuleResult
from .review import apply_rule_doubt, build_review
from .rules import check_rules
from .template import extract_fields

# Bump when a change to reading or extraction can change results: reruns redo documents
# whose recorded version differs.
EXTRACTOR_VERSION = "0.5.0"


@dataclass
class Draft:
    """A document read, extracted and checked, and the sections to ask the LLM about.
    Small enough to send between processes: no Document in it."""
    result: DocumentResult  # status, format, template; fields are filled by `finish`
    mode: Mode = "off"
    readings: dict[str, Reading] = field(default_factory=dict)
    prose: list[ProseFigure] = field(default_factory=list)
    rules: list[RuleResult] = field(default_factory=list)
    asks: list[SectionAsk] = field(default_factory=list)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def first_pass(path: str | Path, sha256: str | None = None, mode: Mode = "off") -> Draft:
    """Never raises for bad input: an unreadable file gives a record with status `error`."""
    path = Path(path)
    result = DocumentResult(document=path.name, sha256=sha256 or "", extractor_version=EXTRACTOR_VERSION)
    try:
        check_size(path)  # before hashing: a 2 GB file is refused without being read
        result.sha256 = result.sha256 or sha256_of(path)
        doc = read(path)
        result.format = doc.format
        result.warnings = doc.warnings
        extraction = extract_fields(doc)
    except ReadError as err:
        result.status, result.error_code, result.error = "error", err.code, str(err)
        return Draft(result)
    except NotAReport as err:
        result.status, result.error = "not_a_report", str(err)
        return Draft(result)
    result.template = extraction.template
    rules = check_rules(extraction.readings, extraction.template, extraction.prose)
    asks = plan_asks(mode, extraction.template, extraction.sections, extraction.tables,
                     extraction.readings, rules)
    return Draft(result, mode, extraction.readings, extraction.prose, rules, asks)


def finish(draft: Draft, answers: list[LlmAnswer] = (), reader: str | None = None) -> DocumentResult:
    """The answers (one per ask, in order) weighed in; rules checked again if any changed a
    reading; fields flagged. `reader` names the model that answered (None: not configured)."""
    result, readings, rules = draft.result, draft.readings, draft.rules
    if result.status != "ok":
        return result
    answered = [(ask, a.values) for ask, a in zip(draft.asks, answers) if a.values is not None]
    for ask, values in answered:
        merge_answer(readings, ask, values)
    for ask, answer in zip(draft.asks, answers):
        if answer.values is None:  # the reviewer should know the LLM did not settle it either
            note_unanswered(readings, ask, answer)
    if answered:
        rules = check_rules(readings, result.template, draft.prose)
        confirm_by_rules(readings, rules, answered)
    result.rules = rules
    apply_rule_doubt(readings, rules)
    result.review = build_review(readings, rules, result.warnings)
    for key, reading in readings.items():
        result.fields[key] = reading.value
        result.confidence[key] = round(reading.confidence, 3)
        result.provenance[key] = reading.prov
    if draft.mode != "off":
        result.llm = LlmRecord(mode=draft.mode, reader=reader, answers=list(answers),
                               requests=sum(a.requests for a in answers),
                               prompt_tokens=sum(a.prompt_tokens for a in answers),
                               completion_tokens=sum(a.completion_tokens for a in answers))
    return result


def unasked(draft: Draft) -> list[LlmAnswer]:
    """The answers of a run with no LLM endpoint: every ask stays open, its fields flagged."""
    return [LlmAnswer(section=a.section, status="not_configured") for a in draft.asks]


def extract_file(path: str | Path, sha256: str | None = None, llm=None, mode: Mode | None = None) -> DocumentResult:
    """Both stages in turn. `llm`: an `extractors.llm.LlmClient`, or None; `mode` defaults to
    fallback with a client and off without one."""
    draft = first_pass(path, sha256, mode or ("fallback" if llm else "off"))
    if llm is None:
        return finish(draft, unasked(draft))
    return finish(draft, [llm.ask(a) for a in draft.asks], llm.identity)
