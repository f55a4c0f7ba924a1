"""Asking an OpenAI-compatible endpoint about one section, through instructor.

One client serves a whole run, from any number of threads: it holds the answer cache, the
limits (requests in flight, requests per minute, the run's token budget) and the counts.
Every HTTP request passes the per-minute limit, the openai client's own retries of 429, 5xx
and timeouts included (it backs off exponentially and honours Retry-After). A failure of any
kind becomes the answer's `error`: the document is still finished, its fields flagged.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from contextvars import ContextVar
from dataclasses import dataclass

import httpx
import instructor
import openai
from instructor.core.exceptions import InstructorError
from pyrate_limiter import Duration, Limiter, Rate

from ..result import FieldProvenance, LlmAnswer, Reading
from ..rules import check_rules
from .asks import SectionAsk
from .cache import AnswerCache, cache_key
from .grounding import grounded
from .prompt import load_prompt
from .schemas import Feedback, answer_model, flat_answer
from .settings import LlmSettings

MAX_ERROR_CHARS = 300


@dataclass
class _Tally:
    requests: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0


_tally: ContextVar[_Tally | None] = ContextVar("llm_tally", default=None)


def full_keys(section: str, flat: dict[str, object]) -> dict[str, object]:
    """The answer's keys as the standard model spells them (table 四's groups are top level)."""
    prefix = "" if section == "appeals" else f"{section}."
    return {prefix + k: v for k, v in flat.items()}


class LlmClient:
    def __init__(self, settings: LlmSettings):
        self.settings = settings
        self.prompt = load_prompt()
        self.cache = AnswerCache(settings.cache_path)
        self._per_minute = Limiter(Rate(settings.rpm, Duration.MINUTE))
        self._in_flight = threading.BoundedSemaphore(settings.concurrency)
        self._lock = threading.Lock()
        self.totals: Counter[str] = Counter()
        http = httpx.Client(event_hooks={"request": [self._on_request]})
        endpoint = openai.OpenAI(base_url=settings.base_url, api_key=settings.api_key or "not-needed",
                                 timeout=settings.timeout, max_retries=settings.http_retries,
                                 http_client=http)
        mode = instructor.Mode.TOOLS if settings.answer_mode == "tools" else instructor.Mode.JSON
        self._instructor = instructor.from_openai(endpoint, mode=mode)
        self._instructor.on("completion:response", self._on_response)

    @property
    def identity(self) -> str:
        """What a document's record says it was read with: reruns with another model re-ask."""
        return f"{self.settings.model}|{self.settings.answer_mode}|{self.prompt.version}"

    def _on_request(self, _request: httpx.Request) -> None:
        self._per_minute.try_acquire("llm")
        tally = _tally.get()
        if tally is not None:
            tally.requests += 1

    def _on_response(self, response) -> None:
        tally, usage = _tally.get(), getattr(response, "usage", None)
        if tally is not None and usage is not None:
            tally.prompt_tokens += usage.prompt_tokens or 0
            tally.completion_tokens += usage.completion_tokens or 0

    def over_budget(self) -> bool:
        budget = self.settings.token_budget
        with self._lock:
            return budget is not None and self.totals["prompt_tokens"] + self.totals["completion_tokens"] >= budget

    def ask(self, ask: SectionAsk) -> LlmAnswer:
        # the endpoint too: two servers may serve different models under one name
        key = cache_key((self.settings.base_url or "").rstrip("/"), self.settings.model,
                        self.settings.answer_mode, self.prompt.version, ask.section, ask.template, ask.digest)
        cached = self.cache.get(key)
        if cached is not None:
            self._count(cached=1)
            return LlmAnswer(section=ask.section, status="cached", values=cached["values"],
                             feedback=cached.get("feedback", []))
        if self.over_budget():
            self._count(over_budget=1)
            return LlmAnswer(section=ask.section, status="budget",
                             error="the run's LLM token budget is spent")
        tally, feedback = _Tally(), Feedback(_checker(ask), self.settings.feedback_rounds)
        token = _tally.set(tally)
        try:
            with self._in_flight:
                answer = self._instructor.create(
                    model=self.settings.model,
                    response_model=answer_model(ask.section, ask.template),
                    messages=self.prompt.messages(ask),
                    max_retries=self.settings.feedback_rounds + 1,  # + one for a malformed answer
                    context={"feedback": feedback},
                    **({"temperature": self.settings.temperature}
                       if self.settings.temperature is not None else {}))
        except (InstructorError, openai.OpenAIError, httpx.HTTPError) as err:
            self._count(tally, errors=1)
            return LlmAnswer(section=ask.section, status="error", error=_describe(err),
                             feedback=feedback.sent, **vars(tally))
        finally:
            _tally.reset(token)
        self._count(tally, answered=1)
        values = full_keys(ask.section, flat_answer(answer))
        self.cache.put(key, {"values": values, "feedback": feedback.sent, "model": self.settings.model,
                             "prompt_version": self.prompt.version, "section": ask.section,
                             "created": time.strftime("%Y-%m-%dT%H:%M:%S%z")})
        return LlmAnswer(section=ask.section, status="answered", values=values,
                         feedback=feedback.sent, **vars(tally))

    def _count(self, tally: _Tally | None = None, **events: int) -> None:
        with self._lock:
            self.totals.update(events)
            if tally is not None:
                self.totals.update(requests=tally.requests, prompt_tokens=tally.prompt_tokens,
                                   completion_tokens=tally.completion_tokens)


def _checker(ask: SectionAsk):
    """What the second look checks: the template's rules within the section, and that every
    figure is printed in it."""
    def check(flat: dict[str, object]) -> list[str]:
        values = full_keys(ask.section, flat)
        readings = {k: Reading(k, FieldProvenance("llm"), v, 1.0) for k, v in values.items()}
        problems = [f"{r.rule} fails for {r.scope}: {r.detail}"
                    for r in check_rules(readings, ask.template) if r.status == "fail"]
        loose = [f"{k}={v}" for k, v in values.items() if not grounded(k, v, ask.printed)]
        if loose:
            problems.append("原文中找不到这些数字：" + "，".join(loose[:12]))
        return problems
    return check


def _describe(err: Exception) -> str:
    cause = err.__cause__ if isinstance(err, InstructorError) and err.__cause__ else err
    text = " ".join(f"{type(cause).__name__}: {cause}".split())
    return text if len(text) <= MAX_ERROR_CHARS else text[:MAX_ERROR_CHARS] + "…"
