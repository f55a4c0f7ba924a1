"""Fetching one URL politely into a file: per-host limits, retries with backoff, timeouts,
a size cap, redirects followed by hand (each one checked), conditional requests on reruns.

Every outcome is a `Fetched` record, never an exception: a portal that answers 404, hangs,
or serves 5 GB is one more row in the raw store's manifest, and the harvest goes on.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import threading
import time
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from pathlib import Path
from urllib.parse import unquote, unquote_to_bytes, urljoin, urlsplit

import httpx
from pyrate_limiter import Duration, Limiter, Rate
from tenacity import (RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt,
                      wait_exponential_jitter)

from .guard import Blocked, GuardedTransport, HostPolicy, check_url

USER_AGENT = "nianbao/0.2 (harvester of government information-disclosure annual reports)"
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_REDIRECTS = 5
MAX_RETRY_AFTER = 60.0  # seconds: a longer Retry-After is waited no longer than this


@dataclass(frozen=True)
class FetchSettings:
    max_bytes: int = 200 * 1024 ** 2
    timeout: float = 30.0  # connect and each read
    deadline: float = 300.0  # the whole download: a server trickling bytes is cut off
    retries: int = 3
    per_host: int = 2  # requests in flight to one host
    per_host_rpm: int = 120
    policy: HostPolicy = HostPolicy()
    user_agent: str = USER_AGENT


@dataclass
class Fetched:
    url: str
    final_url: str
    status: str  # ok, not_modified, http_error, too_large, blocked, timeout, error
    http_status: int | None = None
    path: Path | None = None  # the body, in a temp file the caller moves or deletes
    size: int = 0
    sha256: str | None = None
    content_type: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    filename: str | None = None  # as Content-Disposition names the file
    error: str | None = None
    redirects: list[str] = field(default_factory=list)


class _Retryable(Exception):
    def __init__(self, response: httpx.Response):
        super().__init__(f"HTTP {response.status_code}")
        self.response = response


class Fetcher:
    """One per harvest, shared by its threads."""

    def __init__(self, settings: FetchSettings, workdir: Path):
        self.settings = settings
        self.workdir = Path(workdir)
        self.client = httpx.Client(
            transport=GuardedTransport(settings.policy), follow_redirects=False,
            timeout=httpx.Timeout(settings.timeout), headers={"User-Agent": settings.user_agent})
        self._lock = threading.Lock()
        self._hosts: dict[str, tuple[threading.BoundedSemaphore, Limiter]] = {}

    def close(self) -> None:
        self.client.close()

    def _host(self, url: str) -> tuple[threading.BoundedSemaphore, Limiter]:
        host = (urlsplit(url).hostname or "").lower()
        with self._lock:
            if host not in self._hosts:
                self._hosts[host] = (threading.BoundedSemaphore(self.settings.per_host),
                                     Limiter(Rate(self.settings.per_host_rpm, Duration.MINUTE)))
            return self._hosts[host]

    def fetch(self, url: str, etag: str | None = None, last_modified: str | None = None) -> Fetched:
        redirects: list[str] = []
        current = url
        try:
            for _ in range(MAX_REDIRECTS + 1):
                check_url(current)
                result = self._get(url, current, etag if current == url else None,
                                   last_modified if current == url else None)
                if isinstance(result, str):  # a redirect to follow
                    redirects.append(current)
                    current = result
                    continue
                result.redirects = redirects
                return result
            return Fetched(url, current, "error", error=f"more than {MAX_REDIRECTS} redirects", redirects=redirects)
        except Blocked as err:
            return Fetched(url, current, "blocked", error=str(err), redirects=redirects)
        except httpx.TimeoutException as err:
            return Fetched(url, current, "timeout", error=f"{type(err).__name__}: {err}", redirects=redirects)
        except (httpx.HTTPError, OSError) as err:
            return Fetched(url, current, "error", error=f"{type(err).__name__}: {err}", redirects=redirects)

    def _get(self, url: str, current: str, etag: str | None, last_modified: str | None) -> Fetched | str:
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        retrying = Retrying(stop=stop_after_attempt(self.settings.retries + 1), reraise=True,
                            retry=retry_if_exception_type((_Retryable, httpx.TransportError)),
                            wait=_wait)
        try:
            for attempt in retrying:
                with attempt:
                    return self._attempt(url, current, headers)
        except _Retryable as err:
            return Fetched(url, current, "http_error", err.response.status_code,
                           error=f"HTTP {err.response.status_code} after {self.settings.retries + 1} tries")
        raise AssertionError("unreachable")  # Retrying either returns or re-raises

    def _attempt(self, url: str, current: str, headers: dict) -> Fetched | str:
        slots, per_minute = self._host(current)
        with slots:
            per_minute.try_acquire("host")
            with self.client.stream("GET", current, headers=headers) as response:
                if response.status_code in RETRY_STATUSES:
                    raise _Retryable(response)
                if response.is_redirect and "location" in response.headers:
                    return urljoin(current, response.headers["location"])
                meta = dict(http_status=response.status_code, content_type=response.headers.get("content-type"),
                            etag=response.headers.get("etag"), last_modified=response.headers.get("last-modified"),
                            filename=disposition_filename(response.headers.raw))
                if response.status_code == 304:
                    return Fetched(url, current, "not_modified", **meta)
                if response.status_code != 200:
                    return Fetched(url, current, "http_error", **meta, error=f"HTTP {response.status_code}")
                declared = response.headers.get("content-length", "")
                if declared.isdigit() and int(declared) > self.settings.max_bytes:
                    return Fetched(url, current, "too_large", **meta, size=int(declared),
                                   error=f"Content-Length {declared} over the limit of {self.settings.max_bytes} bytes")
                return self._download(url, current, response, meta)

    def _download(self, url: str, current: str, response: httpx.Response, meta: dict) -> Fetched:
        digest, size, started = hashlib.sha256(), 0, time.monotonic()
        fd, tmp = tempfile.mkstemp(dir=self.workdir, prefix=".fetch-", suffix=".part")
        keep = False
        try:
            with os.fdopen(fd, "wb") as fh:
                for chunk in response.iter_bytes(1 << 16):
                    size += len(chunk)
                    if size > self.settings.max_bytes:
                        return Fetched(url, current, "too_large", **meta, size=size,
                                       error=f"body over the limit of {self.settings.max_bytes} bytes")
                    if time.monotonic() - started > self.settings.deadline:
                        return Fetched(url, current, "timeout", **meta,
                                       error=f"download took over {self.settings.deadline:g} s")
                    digest.update(chunk)
                    fh.write(chunk)
            keep = True
            return Fetched(url, current, "ok", **meta, path=Path(tmp), size=size, sha256=digest.hexdigest())
        finally:
            if not keep:
                os.unlink(tmp)


_FILENAME_STAR = re.compile(rb"filename\*\s*=\s*([\w-]+)'[^']*'([^;]+)", re.I)
_FILENAME = re.compile(rb"filename\s*=\s*(\"[^\"]*\"|[^;]+)", re.I)


def disposition_filename(raw_headers: list[tuple[bytes, bytes]]) -> str | None:
    """The file name a Content-Disposition header gives: filename*=UTF-8''… (RFC 6266) first,
    else filename=, whose bytes portals send in UTF-8 or GBK unsaid (or %-encoded)."""
    value = next((v for k, v in raw_headers if k.lower() == b"content-disposition"), None)
    if not value:
        return None
    if star := _FILENAME_STAR.search(value):
        charset = star.group(1).decode("ascii").lower()
        try:
            return unquote(star.group(2).strip().decode("ascii"), encoding=charset).strip() or None
        except (UnicodeDecodeError, LookupError):
            pass
    if plain := _FILENAME.search(value):
        name = plain.group(1).strip().strip(b'"')
        if re.search(rb"%[0-9A-Fa-f]{2}", name):  # URLEncoder.encode(name, "UTF-8" or "GBK")
            name = unquote_to_bytes(name)
        for encoding in ("utf-8", "gb18030"):
            try:
                return name.decode(encoding).strip() or None
            except UnicodeDecodeError:
                continue
        return name.decode("latin-1").strip() or None
    return None


def _wait(state: RetryCallState) -> float:
    """Retry-After when the server says it (capped), else exponential backoff with jitter."""
    error = state.outcome.exception() if state.outcome else None
    if isinstance(error, _Retryable):
        after = _retry_after(error.response.headers.get("retry-after"))
        if after is not None:
            return min(after, MAX_RETRY_AFTER)
    return wait_exponential_jitter(multiplier=0.5, max=20)(state)


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    if value.strip().isdigit():
        return float(value)
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None
