"""Prefect's environment for a command, and the API server a command uses when no Prefect
server is configured.

Prefect would start a temporary server itself at a run's first API call, then wait ~4 s
while that server imports. The CLI starts this one first thing instead (`start_early`), so
it loads while nianbao does; `ensure_api` hands its address to the run. It is
`prefect server start` with the API only: no UI, no background services (these would take
the run's CPU; flow runs are recorded, task-run history needs a Prefect server of your own,
as the README says).

Import nothing of Prefect at this module's top: the environment must be set before Prefect
is first imported, because Prefect reads its settings then.
"""

from __future__ import annotations

import atexit
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

STARTUP_TIMEOUT = 120.0  # seconds; a cold first start migrates Prefect's database


def prepare_prefect_env(fallback_home: Path) -> None:
    """Prefect reads these when first imported, so this runs before any Prefect import.
    Values already in the environment win; `fallback_home` is used when ~/.cache is not
    writable."""
    if "PREFECT_HOME" not in os.environ:
        # One home shared by runs: a fresh one costs ~6 s of database migrations.
        try:
            home = Path.home() / ".cache" / "nianbao" / "prefect"
            home.mkdir(parents=True, exist_ok=True)
            if not os.access(home, os.W_OK):
                raise PermissionError(home)
        except (OSError, RuntimeError):  # RuntimeError: no home directory to be found
            home = fallback_home
            home.mkdir(parents=True, exist_ok=True)
        os.environ["PREFECT_HOME"] = str(home)
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")  # Prefect's client-side telemetry reads only this
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    os.environ.setdefault("PREFECT_SERVER_LOGGING_LEVEL", "WARNING")


class LocalApi:
    """`prefect server start --no-services --no-ui` on a free port of 127.0.0.1, stopped when
    this process exits (after Prefect has sent what it still holds: Prefect drains its event
    and log workers before `atexit` handlers run)."""

    def __init__(self) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        self.url = f"http://127.0.0.1:{port}/api"
        self._log = tempfile.TemporaryFile()
        self._process = subprocess.Popen(
            [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port),
             "--no-services", "--no-ui"],
            stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT)
        atexit.register(self.stop)

    def wait(self) -> None:
        """Return once the server answers; a clear error if it exits or never answers."""
        no_proxy = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while True:
            if self._process.poll() is not None:
                self._log.seek(0)
                tail = self._log.read().decode("utf-8", "replace")[-2000:]
                raise RuntimeError(f"the local Prefect API server exited with code {self._process.returncode}:\n{tail}")
            try:
                with no_proxy.open(self.url + "/health", timeout=1):
                    return
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the local Prefect API server did not answer in {STARTUP_TIMEOUT:.0f} s") from None
                time.sleep(0.05)

    def stop(self) -> None:
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._log.close()


_api: LocalApi | None = None


def _configured_in_env() -> bool:
    """Whether the environment names an API or forbids a local one (profiles and prefect.toml
    are only known after Prefect is imported: `ensure_api` checks them)."""
    ephemeral = os.environ.get("PREFECT_SERVER_EPHEMERAL_ENABLED", "true").strip().lower()
    return bool(os.environ.get("PREFECT_API_URL")) or ephemeral in ("0", "false", "no", "off")


def start_early() -> None:
    """Start the local API server now, unless the environment configures one."""
    global _api
    if _api is None and not _configured_in_env():
        _api = LocalApi()


def stop_local_api() -> None:
    global _api
    if _api is not None:
        _api.stop()
        _api = None


def ensure_api() -> None:
    """Give this process a Prefect API: the one configured (environment, profile,
    prefect.toml), or else the local server. Its address goes into the environment, which
    every process of the run inherits, and into Prefect's global settings, which the threads
    Prefect starts without a settings context read (the process pool's log and event
    forwarding): without it, each of them and each pool worker would start a temporary
    server of its own (~7 s each, measured)."""
    global _api
    from prefect.context import refresh_global_settings_context
    from prefect.settings import PREFECT_API_URL, PREFECT_SERVER_EPHEMERAL_ENABLED

    configured = PREFECT_API_URL.value()
    if _api is not None and configured == _api.url:
        return
    if configured or not PREFECT_SERVER_EPHEMERAL_ENABLED.value():
        stop_local_api()  # started early, but a profile or prefect.toml names a server
        return
    if _api is None:
        _api = LocalApi()
    _api.wait()
    os.environ["PREFECT_API_URL"] = _api.url
    refresh_global_settings_context()


@contextmanager
def api_for_runs() -> Iterator[None]:
    """`ensure_api`, and for the flows run inside, no flow-run heartbeats when the API is the
    local server. Heartbeats let a server's services mark as crashed a run whose process died;
    the local server runs no services and ends with the command, so nothing reads them, and
    every flow's end waits for the heartbeat thread's next one-second tick."""
    ensure_api()
    if _api is None:  # a server of the user's: heartbeats as configured
        yield
        return
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        yield
