"""The standard model of ../shared/spec/standard-model.md as pydantic models.

The spec's contract is a flat mapping of dotted keys; the nested models below flatten to
exactly those keys (`Report2019().to_flat()`), so the same classes serve as the schema of a
whole report and, section by section, as the response model of the LLM extractor.
"""

from __future__ import annotations

from functools import cache
from typing import Literal

from pydantic import BaseModel, ConfigDict

Count = int | None
Money = float | None  # 万元

APPLICANT_COLUMNS = ("natural", "commercial", "research", "social", "legal", "other", "total")
APPLICANTS = APPLICANT_COLUMNS[:-1]
APPEAL_GROUPS = ("review", "suit_direct", "suit_after_review")
APPEAL_COLUMNS = ("upheld", "corrected", "other", "pending", "total")
APPEAL_PARTS = APPEAL_COLUMNS[:-1]
TEMPLATES = ("2019", "2021")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


# -- 二、主动公开政府信息情况 -------------------------------------------------------------

class Documents2019(_Section):
    made: Count = None
    published: Count = None
    total: Count = None


class Items2019(_Section):
    prev: Count = None
    change: Count = None  # may be negative: 本年增/减
    decisions: Count = None


class Fees2019(_Section):
    prev: Count = None
    change: Count = None


class Procurement2019(_Section):
    projects: Count = None
    amount: Money = None


class Active2019(_Section):
    regulations: Documents2019 = Documents2019()
    normative: Documents2019 = Documents2019()
    licensing: Items2019 = Items2019()
    other_services: Items2019 = Items2019()
    penalty: Items2019 = Items2019()
    coercion: Items2019 = Items2019()
    fees: Fees2019 = Fees2019()
    procurement: Procurement2019 = Procurement2019()


class Documents2021(_Section):
    issued: Count = None
    repealed: Count = None
    in_force: Count = None


class Decisions2021(_Section):
    decisions: Count = None


class Fees2021(_Section):
    amount: Money = None


class Active2021(_Section):
    regulations: Documents2021 = Documents2021()
    normative: Documents2021 = Documents2021()
    licensing: Decisions2021 = Decisions2021()
    penalty: Decisions2021 = Decisions2021()
    coercion: Decisions2021 = Decisions2021()
    fees: Fees2021 = Fees2021()


# -- 三、收到和处理政府信息公开申请情况 ----------------------------------------------------

class ApplicantRow(_Section):
    natural: Count = None
    commercial: Count = None
    research: Count = None
    social: Count = None
    legal: Count = None
    other: Count = None
    total: Count = None


_REQUEST_ROWS_HEAD = (
    "new", "carried", "granted", "partial",
    "denied_secret", "denied_law", "denied_safety", "denied_third_party",
    "denied_internal", "denied_process", "denied_enforcement", "denied_query",
    "unable_not_held", "unable_create", "unable_unclear",
    "rejected_petition", "rejected_repeat", "rejected_publication", "rejected_massive",
    "rejected_confirm",
)
REQUEST_ROWS = {
    "2019": _REQUEST_ROWS_HEAD + ("other", "total", "carry_forward"),
    "2021": _REQUEST_ROWS_HEAD + ("other_no_correction", "other_no_fee", "other_misc",
                                   "total", "carry_forward"),
}
# The rows whose sum is 三（七）总计 (rule R2): every result row.
RESULT_ROWS = {t: tuple(r for r in rows if r not in ("new", "carried", "total", "carry_forward"))
               for t, rows in REQUEST_ROWS.items()}
# Template 2021's sub-rows of （六）其他处理, which some later reports still print as the one
# older row `other` (spec: "The older （六） row in later reports").
OTHER_SUBROWS = ("other_no_correction", "other_no_fee", "other_misc")
OLDER_OTHER_KEYS = tuple(f"requests.other.{c}" for c in APPLICANT_COLUMNS)


def prints_older_other(template: str, keys) -> bool:
    """Whether a report of template 2021 carries the older single row （六）其他处理, judged
    by the keys it holds (readings or gold fields)."""
    return template == "2021" and any(k in keys for k in OLDER_OTHER_KEYS)


def request_rows(template: str, older_other: bool = False) -> tuple[str, ...]:
    """Table 三's rows as a report prints them: with the older （六） row, `other` stands in
    the place of the three sub-rows."""
    rows = REQUEST_ROWS[template]
    if not older_other or template != "2021":
        return rows
    at = rows.index(OTHER_SUBROWS[0])
    return rows[:at] + ("other",) + rows[at + len(OTHER_SUBROWS):]


def result_rows(template: str, older_other: bool = False) -> tuple[str, ...]:
    return tuple(r for r in request_rows(template, older_other)
                 if r not in ("new", "carried", "total", "carry_forward"))


def _requests_model(template: str) -> type[_Section]:
    from pydantic import create_model

    fields = {row: (ApplicantRow, ApplicantRow()) for row in REQUEST_ROWS[template]}
    return create_model(f"Requests{template}", __base__=_Section, **fields)


Requests2019 = _requests_model("2019")
Requests2021 = _requests_model("2021")


# -- 四、政府信息公开行政复议、行政诉讼情况 ------------------------------------------------

class AppealGroup(_Section):
    upheld: Count = None
    corrected: Count = None
    other: Count = None
    pending: Count = None
    total: Count = None


class Appeals(_Section):
    """Table 四 on its own (in a report its groups sit at the top level: `review.upheld`)."""
    review: AppealGroup = AppealGroup()
    suit_direct: AppealGroup = AppealGroup()
    suit_after_review: AppealGroup = AppealGroup()


# -- text sections and metadata -------------------------------------------------------

class Texts(_Section):
    overview: str | None = None
    problems: str | None = None
    other: str | None = None


class Meta(_Section):
    agency: str | None = None
    year: int | None = None
    template: Literal["2019", "2021"] | None = None


class _Report(_Section):
    meta: Meta = Meta()
    review: AppealGroup = AppealGroup()
    suit_direct: AppealGroup = AppealGroup()
    suit_after_review: AppealGroup = AppealGroup()
    text: Texts = Texts()

    def to_flat(self) -> dict[str, object]:
        return flatten(self.model_dump())

    @classmethod
    def from_flat(cls, flat: dict[str, object]):
        nested: dict = {}
        for key, value in flat.items():
            node = nested
            *parents, leaf = key.split(".")
            for part in parents:
                node = node.setdefault(part, {})
            node[leaf] = value
        return cls.model_validate(nested)


class Report2019(_Report):
    active: Active2019 = Active2019()
    requests: Requests2019 = Requests2019()


class Report2021(_Report):
    active: Active2021 = Active2021()
    requests: Requests2021 = Requests2021()


REPORT_MODELS: dict[str, type[_Report]] = {"2019": Report2019, "2021": Report2021}


def flatten(tree: dict, prefix: str = "") -> dict[str, object]:
    flat: dict[str, object] = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            flat.update(flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


@cache
def field_keys(template: str) -> tuple[str, ...]:
    """Every key of a template, in the spec's order."""
    return tuple(REPORT_MODELS[template]().to_flat())


def section_of(key: str) -> str:
    """The spec section a key belongs to: meta, active, requests, appeals or text."""
    head = key.split(".", 1)[0]
    return "appeals" if head in APPEAL_GROUPS else head


MONEY_KEYS = frozenset({"active.procurement.amount", "active.fees.amount"})
CHANGE_KEYS = frozenset(k for k in field_keys("2019") if k.endswith(".change"))
TEXT_KEYS = ("text.overview", "text.problems", "text.other")
META_KEYS = ("meta.agency", "meta.year", "meta.template")


def is_numeric_key(key: str) -> bool:
    return section_of(key) in ("active", "requests", "appeals")
