"""The answer the model must give: the standard model's own section classes, with every field
required (a model should say null, not leave a field out) and a second look on failure.

The second look: a validator runs the template's rules and the grounding check over the
answer and, while feedback rounds are left, fails with what it found ("R1 fails for column
natural: 33 + 0 ≠ 31 + 0"); instructor sends that back to the model as its retry prompt.
Once the rounds are spent the answer is taken as it is: a report may print figures that
disagree, and the model must not be pushed into inventing figures that agree.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

from pydantic import BaseModel, ConfigDict, ValidationInfo, create_model, model_validator

from ..standard_model import (Active2019, Active2021, Appeals, Requests2019, Requests2021,
                              flatten)

SECTION_MODELS: dict[tuple[str, str], type[BaseModel]] = {
    ("active", "2019"): Active2019, ("active", "2021"): Active2021,
    ("requests", "2019"): Requests2019, ("requests", "2021"): Requests2021,
    ("appeals", "2019"): Appeals, ("appeals", "2021"): Appeals,
}

Check = Callable[[dict[str, object]], list[str]]  # a flat answer → what is wrong with it


class Feedback:
    """The validation context of one question: the check, and how many rounds are left."""

    def __init__(self, check: Check, rounds: int):
        self.check = check
        self.rounds = rounds
        self.sent: list[str] = []  # the feedback given, kept for the record


class _Part(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Answer(_Part):
    """报告该部分的全部数字"""  # the tool's description, as instructor takes it from the docstring

    @classmethod
    def model_json_schema(cls, *args, **kwargs) -> dict:
        """Pydantic's schema, less what costs tokens and tells the model nothing: a title on
        every field, and `anyOf [integer, null]` where `type: [integer, null]` says it."""
        schema = _compact(super().model_json_schema(*args, **kwargs))
        schema["title"] = cls.__name__  # the tool's name
        return schema

    @model_validator(mode="after")
    def _second_look(self, info: ValidationInfo):
        feedback = (info.context or {}).get("feedback")
        if feedback is None or feedback.rounds <= 0:
            return self
        problems = feedback.check(flat_answer(self))
        if problems:
            feedback.rounds -= 1
            message = "; ".join(problems)
            feedback.sent.append(message)
            raise ValueError(message + "。请对照原文再核对一遍；若原文本身印的就是这些数字，照原样填写。")
        return self


def _compact(node):
    if isinstance(node, list):
        return [_compact(n) for n in node]
    if not isinstance(node, dict):
        return node
    options = node.get("anyOf")
    if options and all(set(o) == {"type"} for o in options):
        node = {**{k: v for k, v in node.items() if k != "anyOf"}, "type": [o["type"] for o in options]}
    return {k: _compact(v) for k, v in node.items() if not (k == "title" and isinstance(v, str))}


def flat_answer(answer: BaseModel) -> dict[str, object]:
    return flatten(answer.model_dump())


@cache
def answer_model(section: str, template: str) -> type[BaseModel]:
    base = SECTION_MODELS[section, template]
    return _required(base, f"{section.capitalize()}{template}", top=True)


@cache
def _required(model: type[BaseModel], name: str, top: bool = False) -> type[BaseModel]:
    fields = {}
    for field_name, info in model.model_fields.items():
        kind = info.annotation
        if isinstance(kind, type) and issubclass(kind, BaseModel):
            kind = _required(kind, _SHORT_NAMES.get(kind.__name__, kind.__name__))
        fields[field_name] = (kind, ...)
    base = _Answer if top else _Part
    return create_model(name, __base__=base, __doc__=base.__doc__, **fields)


# Names the schema repeats in every reference ("#/$defs/Row"): short ones save tokens.
_SHORT_NAMES = {"ApplicantRow": "Row", "AppealGroup": "Group"}
