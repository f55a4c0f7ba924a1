"""The prompt of `prompts/section_v1.md`, split into its parts and filled in for one section."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

from .asks import SectionAsk

PROMPT_FILE = "section_v1.md"


@dataclass(frozen=True)
class Prompt:
    version: str  # file name and a hash of its text: a changed prompt is a new version
    parts: dict[str, str]

    def messages(self, ask: SectionAsk) -> list[dict[str, str]]:
        user = self.parts["user"].format(title=ask.title, template=ask.template,
                                         fields=self.parts[f"fields {ask.section} {ask.template}"],
                                         content=ask.content)
        return [{"role": "system", "content": self.parts["system"]}, {"role": "user", "content": user}]


@cache
def load_prompt(name: str = PROMPT_FILE) -> Prompt:
    text = resources.files("prompts").joinpath(name).read_text(encoding="utf-8")
    parts = {}
    for chunk in re.split(r"^## ", text, flags=re.M)[1:]:
        heading, _, body = chunk.partition("\n")
        parts[heading.strip()] = body.strip()
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]
    return Prompt(f"{name.removesuffix('.md')}-{digest}", parts)
