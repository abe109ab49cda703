"""TLS contexts for Apprise's mail plugin, made once instead of once per mail.

Apprise's SMTP client builds `ssl.create_default_context()` for every mail it sends, and loading the system's
certificate authorities takes ~22 ms of CPU each time (measured: 31.6 ms of CPU per mail, 22 of them there), even
for a server without TLS, where the context is never used. With 200 pages in flight that is seconds of CPU on two
cores, and pages by mail came later than their rule's delay (SPEC § 7). Here its module sees a `ssl` whose
`create_default_context()` hands back a context that is made only when first used, and then is one of two shared
ones — checking certificates or not, the only two ways Apprise sets it up — which Python allows sharing across
threads once set up. Everything else of `ssl` is the real module.
"""

from __future__ import annotations

import ssl
import threading
from typing import Any

_made: dict[tuple[bool, int], ssl.SSLContext] = {}
_lock = threading.Lock()


def _shared(check_hostname: bool, verify_mode: int) -> ssl.SSLContext:
    with _lock:
        context = _made.get((check_hostname, verify_mode))
        if context is None:
            context = ssl.create_default_context()
            context.check_hostname = check_hostname
            context.verify_mode = ssl.VerifyMode(verify_mode)
            _made[(check_hostname, verify_mode)] = context
        return context


class _Deferred:
    """Takes `check_hostname` and `verify_mode` as Apprise sets them; becomes a shared context when used."""

    def __init__(self) -> None:
        object.__setattr__(self, "_settings", {"check_hostname": True, "verify_mode": int(ssl.CERT_REQUIRED)})

    def __setattr__(self, name: str, value: Any) -> None:
        if name not in self._settings:
            raise AttributeError(f"{name} cannot be set on a shared TLS context")
        self._settings[name] = int(value) if name == "verify_mode" else bool(value)

    def __getattr__(self, name: str) -> Any:
        return getattr(_shared(self._settings["check_hostname"], self._settings["verify_mode"]), name)


class _SSL:
    """The `ssl` module, but for `create_default_context()` without arguments."""

    def __getattr__(self, name: str) -> Any:
        return getattr(ssl, name)

    @staticmethod
    def create_default_context(*args: Any, **kwargs: Any) -> Any:
        return ssl.create_default_context(*args, **kwargs) if args or kwargs else _Deferred()


def share_mail_contexts() -> None:
    """Idempotent; does nothing if Apprise's mail plugin is laid out otherwise (a newer Apprise: only slower)."""
    try:
        from apprise.plugins.email import smtp
    except ImportError:
        return
    if getattr(smtp, "ssl", None) is ssl:
        smtp.ssl = _SSL()
