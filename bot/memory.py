"""Giving memory back after a burst: CPython keeps freed objects' memory in its own pools and glibc keeps freed
heap in its arenas, so a process that handled a burst stays as large as the burst made it. When the bot goes idle
(at most every TRIM_EVERY) a full collection runs and glibc is asked to return what it can (`malloc_trim`)."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import gc
import time
from collections.abc import Callable

TRIM_EVERY = 10.0  # seconds

_libc = None
_last = 0.0
_later: asyncio.TimerHandle | None = None


def _malloc_trim():
    global _libc
    if _libc is None:
        name = ctypes.util.find_library("c")
        try:
            _libc = ctypes.CDLL(name) if name else False
        except OSError:
            _libc = False
    return getattr(_libc, "malloc_trim", None) if _libc else None  # glibc only (not musl, not macOS)


def release_now_and_then(quiet: Callable[[], bool] = lambda: True) -> bool:
    """Returns whether it ran. Only while `quiet()` (no request being answered: a full collection would hold up
    their acks). Asked again too soon, it runs once the TRIM_EVERY is up instead (from the running event loop, if
    any) — if it is still quiet then: a burst that ended just after the last release is given back too, not kept
    until the next burst ends."""
    global _last, _later
    if not quiet():
        return False
    now = time.monotonic()
    if now - _last < TRIM_EVERY:
        if _later is None:
            with contextlib.suppress(RuntimeError):  # no loop in this thread: the next idle moment will do
                _later = asyncio.get_running_loop().call_later(TRIM_EVERY - (now - _last), _deferred, quiet)
        return False
    _last = now
    gc.collect()
    trim = _malloc_trim()
    if trim is not None:
        trim(0)
    return True


def _deferred(quiet: Callable[[], bool]) -> None:
    global _later
    _later = None
    release_now_and_then(quiet)
