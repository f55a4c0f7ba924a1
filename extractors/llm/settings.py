"""Where the LLM is and how hard it may be used: from the environment or a TOML file.

    NIANBAO_LLM_BASE_URL   the endpoint (omit for OpenAI itself)
    NIANBAO_LLM_MODEL      the model name; the LLM step is off without it
    OPENAI_API_KEY         the key (NIANBAO_LLM_API_KEY wins if both are set)
    NIANBAO_LLM_CONFIG     a TOML file with a [llm] table of the same settings in lower case
                           (base_url, model, api_key, concurrency, rpm, token_budget, ...)

Environment variables win over the file, so one file can serve several runs.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Literal

Mode = Literal["off", "fallback", "verify"]
MODES = ("off", "fallback", "verify")
ANSWER_MODES = ("tools", "json")


class SettingsError(ValueError):
    """A setting that cannot be used: a bad number, an unknown mode, an unreadable file."""


@dataclass(frozen=True)
class LlmSettings:
    model: str
    base_url: str | None = None
    api_key: str | None = None
    # tools: the schema goes as a function to call (most servers); json: as text, the answer
    # as a JSON message (servers without tool calling, e.g. older llama.cpp builds)
    answer_mode: str = "tools"
    timeout: float = 120.0  # seconds for one HTTP request
    http_retries: int = 3  # the openai client's own retries of 429, 5xx and timeouts, with backoff
    temperature: float | None = 0.0  # "none": not sent (models that accept only their default)
    feedback_rounds: int = 1  # times a failed rule is sent back to the model for a second look
    concurrency: int = 4  # requests in flight at once
    rpm: int = 60  # requests per minute, every HTTP request counted
    token_budget: int | None = None  # tokens per run; past it the LLM is not asked again
    cache_dir: str | None = None  # default: ~/.cache/nianbao/llm

    @property
    def cache_path(self) -> Path:
        if self.cache_dir:
            return Path(self.cache_dir)
        return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "nianbao" / "llm"


_ENV = {
    "model": "NIANBAO_LLM_MODEL", "base_url": "NIANBAO_LLM_BASE_URL",
    "answer_mode": "NIANBAO_LLM_ANSWER_MODE", "timeout": "NIANBAO_LLM_TIMEOUT",
    "temperature": "NIANBAO_LLM_TEMPERATURE",
    "http_retries": "NIANBAO_LLM_HTTP_RETRIES", "feedback_rounds": "NIANBAO_LLM_FEEDBACK_ROUNDS",
    "concurrency": "NIANBAO_LLM_CONCURRENCY", "rpm": "NIANBAO_LLM_RPM",
    "token_budget": "NIANBAO_LLM_TOKEN_BUDGET", "cache_dir": "NIANBAO_LLM_CACHE",
}


def load_settings(environ: Mapping[str, str] | None = None) -> LlmSettings | None:
    """The settings in force, or None when no model is configured (the LLM step is skipped)."""
    env = os.environ if environ is None else environ
    raw: dict[str, object] = {}
    if env.get("NIANBAO_LLM_CONFIG"):
        raw.update(_read_file(Path(env["NIANBAO_LLM_CONFIG"])))
    for name, var in _ENV.items():
        if env.get(var):
            raw[name] = env[var]
    key = env.get("NIANBAO_LLM_API_KEY") or env.get("OPENAI_API_KEY")
    if key:
        raw["api_key"] = key
    if not raw.get("model"):
        return None
    return _typed(raw)


def _read_file(path: Path) -> dict[str, object]:
    try:
        table = tomllib.loads(path.read_text(encoding="utf-8")).get("llm", {})
    except (OSError, tomllib.TOMLDecodeError) as err:
        raise SettingsError(f"{path}: {err}") from err
    known = {f.name for f in fields(LlmSettings)}
    unknown = set(table) - known
    if unknown:
        raise SettingsError(f"{path}: unknown [llm] settings: {', '.join(sorted(unknown))}")
    return dict(table)


def _typed(raw: dict[str, object]) -> LlmSettings:
    settings = LlmSettings(model=str(raw["model"]))
    values = {}
    for f in fields(LlmSettings):
        if f.name not in raw or f.name == "model":
            continue
        value = raw[f.name]
        kind = type(getattr(settings, f.name)) if getattr(settings, f.name) is not None else None
        try:
            if f.name == "token_budget":
                value = int(value)
            elif f.name == "temperature":
                value = None if str(value).lower() == "none" else float(value)
            elif kind in (int, float):
                value = kind(value)
            else:
                value = str(value)
        except (TypeError, ValueError) as err:
            raise SettingsError(f"LLM setting {f.name}={value!r}: {err}") from err
        values[f.name] = value
    settings = replace(settings, **values)
    if settings.answer_mode not in ANSWER_MODES:
        raise SettingsError(f"LLM answer mode {settings.answer_mode!r}: use tools or json")
    for name in ("concurrency", "rpm", "timeout"):
        if getattr(settings, name) <= 0:
            raise SettingsError(f"LLM setting {name} must be positive")
    if settings.token_budget is not None and settings.token_budget <= 0:
        raise SettingsError("LLM token budget must be positive")
    return settings


def mode_from(given: str | None, configured: bool) -> Mode:
    """`--llm` wins; else the default: fallback when a model is configured, off when not."""
    mode = given or ("fallback" if configured else "off")
    if mode not in MODES:
        raise SettingsError(f"LLM mode {mode!r}: use off, fallback or verify")
    return mode  # type: ignore[return-value]
