"""Documents extracted in a child process watched from outside, with a deadline and a memory
ceiling per document.

A reader cannot bound what it does not know it is doing (a page tree that claims two billion
pages, a grid of millions of cells inside MuPDF or OpenCV), and one such file must not take
the worker, the batch or the machine with it. So a batch's documents run in a child forked for
them; the parent ends the child when a document passes its time or memory budget, writes that
document's error record, and goes on with the rest of the batch in a fresh child. The error
codes (`timeout`, `over_memory`, `crashed`) are final: a rerun does not try the file again
until the extractor's version changes or --force.

Why fork: the child starts with everything the worker has imported, so a batch costs no second
start-up; it works alone (its own OCR engine, no Prefect, no network client of the parent's)
and leaves by os._exit, so nothing of the parent's runs twice. No Prefect here.
"""

from __future__ import annotations

import ctypes
import os
import resource
import signal
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing import Pipe
from multiprocessing.connection import Connection
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")

TIMEOUT_ENV = "NIANBAO_DOC_TIMEOUT"
MEMORY_ENV = "NIANBAO_DOC_MEMORY_MB"
POLL_SECONDS = 0.05  # how often the parent looks at the child's clock and memory
# The kernel's cap on the child's address space, as a multiple of the memory budget above what
# the worker maps: it stops a burst of allocation between two looks (the allocation fails in
# the reader, which loses that part), and leaves room for what is mapped but never touched.
ADDRESS_SPACE_FACTOR = 4
_PAGE = os.sysconf("SC_PAGE_SIZE")
_PR_SET_PDEATHSIG = 1


@dataclass(frozen=True)
class Limits:
    seconds: float  # wall time one document may take
    memory: int  # bytes one document may add to the resident memory the worker has

    @classmethod
    def from_env(cls) -> Limits:
        """NIANBAO_DOC_TIMEOUT (seconds, default 600: a 150-page scan at ~3 s a page fits)
        and NIANBAO_DOC_MEMORY_MB (default 1024; measured: a 300-page PDF adds ~150 MB, OCR
        with its models 250–400 MB)."""
        return cls(float(os.environ.get(TIMEOUT_ENV, 600)), int(float(os.environ.get(MEMORY_ENV, 1024)) * 2**20))


Failed = Callable[[T, str, str], R]  # (item, error code, message) → the item's result


def run_each(items: list[T], work: Callable[[T], R], failed: Failed, limits: Limits,
             name: Callable[[T], str] = str) -> list[R]:
    """`work(item)` for every item, in order, in forked children; `failed(item, code,
    message)` stands in for an item whose child was ended or died. The results are sent
    back from the child, so they must pickle."""
    results: list[R] = []
    rest = list(items)
    while rest:
        done, failure = _child_run(rest, work, limits)
        results.extend(done)
        rest = rest[len(done):]
        if failure is None:
            continue  # all done, or the child left early to start the rest afresh
        code, why = failure
        if code == "over_memory" and done:
            continue  # the earlier documents' leftovers may share the blame: once more, alone
        results.append(failed(rest[0], code, f"{name(rest[0])}: {why}"))
        rest = rest[1:]
    return results


def _child_run(items: list[T], work: Callable[[T], R], limits: Limits) -> tuple[list[R], tuple[str, str] | None]:
    """Fork a child that works through `items`; watch it. Returns the results it sent and,
    if it was ended or died on an item, (error code, why) for that item."""
    receive, send = Pipe(duplex=False)
    parent = os.getpid()
    base = _resident(parent)
    with warnings.catch_warnings():
        # Python 3.12+ warns on fork in a process with threads (Prefect's): the child uses
        # none of them nor anything they may lock, and ends with os._exit.
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:
        status = 1
        try:
            receive.close()
            _child(items, work, limits, send, parent)
            status = 0
        finally:
            os._exit(status)
    send.close()
    try:
        return _watch(pid, receive, len(items), limits, base)
    finally:
        receive.close()
        _end(pid)


def _child(items: list, work: Callable, limits: Limits, send: Connection, parent: int) -> None:
    # Not the parent's handlers (the CLI's, when the batch runs on a thread of its process):
    # Ctrl-C reaches the whole process group, the parent answers it and the child dies with it
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    _die_with_parent(parent)
    cap = _mapped(os.getpid()) + ADDRESS_SPACE_FACTOR * limits.memory
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    # its own start, not the parent's: a fork shares file-backed pages before it counts them
    base = _resident(os.getpid())
    for index, item in enumerate(items):
        send.send(("start", index))
        send.send(("done", index, work(item)))
        if _resident(os.getpid()) - base > limits.memory // 2:
            return  # what is left goes to a fresh child: no document pays for earlier ones


def _watch(pid: int, receive: Connection, total: int, limits: Limits, base: int):
    results: list = []
    started: float | None = None  # when the child began the item it is on

    def take(wait: float) -> bool:
        """One message from the child, if one comes within `wait` s; False at none or its end."""
        nonlocal started
        if not receive.poll(wait):
            return False
        try:
            message = receive.recv()
        except EOFError:
            return False
        if message[0] == "start":
            started = time.monotonic()
        else:
            results.append(message[2])
            started = None
        return True

    while True:
        if take(POLL_SECONDS):
            continue
        # Asked directly, not through the pipe's end: a child forked at the same moment by
        # another thread (thread task runner) may hold this pipe open after ours has ended.
        status = _exited(pid)
        if status is not None:
            while take(0):  # what it sent before it ended
                pass
            break
        if started is None:
            continue
        took = time.monotonic() - started
        if took > limits.seconds:
            return results, ("timeout", f"stopped after {took:.0f} s, over the per-document limit "
                             f"of {limits.seconds:g} s (set {TIMEOUT_ENV} to raise it)")
        used = _resident(pid) - base
        if used > limits.memory:
            return results, ("over_memory", f"stopped at {used / 2**20:.0f} MB, over the per-document "
                             f"limit of {limits.memory / 2**20:.0f} MB (set {MEMORY_ENV} to raise it)")
    if started is None or len(results) == total:
        return results, None
    if os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL:
        # not us: the kernel's OOM killer is what kills a process with no word said
        return results, ("over_memory", "the reader's process was killed (out of memory)")
    how = (f"signal {signal.Signals(os.WTERMSIG(status)).name}" if os.WIFSIGNALED(status)
           else f"exit status {os.WEXITSTATUS(status)}")
    return results, ("crashed", f"the reader's process died ({how})")


def _exited(pid: int) -> int | None:
    """The child's wait status if it has ended (it is then reaped), else None."""
    try:
        done, status = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return 0
    return status if done else None


def _end(pid: int) -> int:
    """Kill the child if it still runs; reap it. Its wait status (0 if already reaped)."""
    status = _exited(pid)
    if status is not None:
        return status
    try:
        os.kill(pid, signal.SIGKILL)
        return os.waitpid(pid, 0)[1]
    except ChildProcessError:
        return 0


def _die_with_parent(parent: int) -> None:
    # A worker killed outright (kill -9, the OOM killer) must not leave its child running on.
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # it died before the line above
        os._exit(1)


def _statm(pid: int) -> list[int]:
    with open(f"/proc/{pid}/statm") as fh:
        return [int(n) for n in fh.read().split()[:2]]


def _resident(pid: int) -> int:
    try:
        return _statm(pid)[1] * _PAGE
    except (OSError, ValueError):  # ended in between
        return 0


def _mapped(pid: int) -> int:
    return _statm(pid)[0] * _PAGE
