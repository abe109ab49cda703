"""The providers beyond Slack, spoken to through Apprise (https://github.com/caronc/apprise): we write no provider
code of our own. The operator's URLs hold the secrets; a person's address goes where the URL says `{to}`.

What comes back is ours to word: never Apprise's own log text (it can name hosts and paths), only an outcome —
sent, unavailable (try again: a 5xx, a 429, no connection, no answer in time, a mail server that did not take it)
or refused for good (a 4xx: the provider will not take this address or these credentials).
Each kind has its own threads, so a provider that hangs holds only its own sends.
"""

from __future__ import annotations

import asyncio
import logging
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from bot.delivery.kinds import PROVIDER_LANES
from bot.delivery.tls_contexts import share_mail_contexts

log = logging.getLogger(__name__)

# One thread per lane the engine runs at once for a provider: a send never waits in a queue for a thread (its time
# would run while it waits). Apprise's own timeouts (4 s to connect and per read over HTTP, 15 s per SMTP step) end
# a send long before SEND_TIMEOUT, the last resort: a send given up on while its thread still runs may yet arrive,
# and would go again.
THREADS_PER_KIND = PROVIDER_LANES
SEND_TIMEOUT = 45.0
# A P0 goes at the provider's highest priority where it has one (query parameter → value, by URL scheme).
URGENT = {"ntfy": ("priority", "max"), "ntfys": ("priority", "max"), "pover": ("priority", "emergency"),
          "pushover": ("priority", "emergency"), "gotify": ("priority", "high"), "gotifys": ("priority", "high"),
          "pbul": ("priority", "high")}
_HTTP_ERROR = re.compile(r"error=(\d{3})")


@dataclass(frozen=True)
class Answer:
    sent: bool
    permanent: bool = False  # refused for good: trying again will not help
    reason: str = ""  # ours, free of secrets


def provider_url(template: str, address: str, urgent: bool) -> str:
    """The operator's URL with the address put in (escaped, so an address cannot add parameters or hosts) and, for
    a P0, the provider's highest priority."""
    url = template.replace("{to}", quote(address, safe="@" if "?" in template.split("{to}")[0] else ""))
    if not urgent:
        return url
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in URGENT:
        return url
    name, value = URGENT[scheme]
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k.lower() != name]
    return urlunsplit(parts._replace(query=urlencode([*query, (name, value)], safe="@:/")))


def _answer(result: Any) -> Answer:
    """An AppriseResult turned into our words."""
    if result:
        return Answer(True)
    status = getattr(getattr(result, "status", None), "name", "")
    if status == "TIMEOUT":
        return Answer(False, reason="no answer in time")
    warnings = [entry.message for entry in result.logs() if entry.level in ("WARNING", "ERROR")]
    codes = [int(m[1]) for text in warnings if (m := _HTTP_ERROR.search(text))]
    if codes:
        code = codes[-1]
        permanent = 400 <= code < 500 and code not in (408, 425, 429)
        return Answer(False, permanent, f"the provider answered {code}")
    if any("Connection error" in text or "connection error" in text.lower() for text in warnings):
        return Answer(False, reason="could not connect to the provider")
    if any("email" in text.lower() for text in warnings):
        return Answer(False, reason="the mail server did not take it")
    return Answer(False, reason="the provider did not take it")


class Providers:
    """`urls`: kind → the operator's Apprise URL with `{to}` (Settings.contact_urls)."""

    def __init__(self, urls: dict[str, str]) -> None:
        self.urls = dict(urls)
        self._threads = {kind: ThreadPoolExecutor(THREADS_PER_KIND, thread_name_prefix=f"notify-{kind}")
                         for kind in self.urls}
        if self.urls:
            quiet_provider_logs()

    @property
    def kinds(self) -> tuple[str, ...]:
        return tuple(self.urls)

    async def send(self, kind: str, address: str, title: str, body: str, *, urgent: bool = False) -> Answer:
        if kind not in self.urls:
            return Answer(False, True, f"{kind} is not set up on this workspace any more")
        url = provider_url(self.urls[kind], address, urgent)
        loop = asyncio.get_running_loop()
        try:
            return await asyncio.wait_for(loop.run_in_executor(self._threads[kind], _notify, url, title, body),
                                          SEND_TIMEOUT)
        except TimeoutError:
            return Answer(False, reason="no answer in time")

    async def warm_up(self) -> None:
        """Apprise loads every plugin on first use (a second or more on a busy machine): done at start-up, in the
        background, so that the first page does not pay for it."""
        if self.urls:
            await asyncio.get_running_loop().run_in_executor(self._threads[next(iter(self.urls))], _load_plugins)

    def close(self) -> None:
        for threads in self._threads.values():
            threads.shutdown(wait=False, cancel_futures=True)


def quiet_provider_logs() -> None:
    """Apprise's and urllib3's own log lines name hosts, paths (where some providers keep their tokens) and, at
    debug level, whole URLs: they never reach our logs. Apprise still captures its warnings for each send (what
    `_answer` reads), through the handler it attaches to its logger for the call."""
    for name in ("apprise", "urllib3"):
        logger = logging.getLogger(name)
        logger.setLevel(logging.WARNING)
        logger.propagate = False
        if not logger.handlers:
            logger.addHandler(logging.NullHandler())


SAMPLE_ADDRESS = {"sms": "+4915123456789", "push": "firefighter-check", "email": "check@example.com"}


def usable(kind: str, template: str) -> bool:
    """Whether Apprise can use the operator's URL for this kind, with an address of that kind put in (nothing is
    sent): for `python -m bot check`."""
    return bool(_notifier().add(provider_url(template, SAMPLE_ADDRESS[kind], False)))


def _load_plugins() -> None:
    _notifier().add("json://localhost")


def _notifier():
    """An Apprise instance whose plugins run in the calling thread (not in Apprise's pool, shared by every kind).
    `service_timeout=0` too: with a service timeout (Apprise 2.x sets 60 s by default) even a sequential notify
    runs in Apprise's process-wide pool of cpus + 4 threads, so one hanging provider held every kind and 200 pages
    queued six at a time (bench/contacts.py found it); the plugins' socket timeouts and SEND_TIMEOUT end a send.
    Apprise is imported here only: it brings every plugin with it (tens of MB), unused without providers."""
    import apprise

    share_mail_contexts()
    return apprise.Apprise(asset=apprise.AppriseAsset(async_mode=False, service_timeout=0))


def _notify(url: str, title: str, body: str) -> Answer:
    """In a thread of the kind's own: Apprise's plugins are blocking, and run here one at a time (not in Apprise's
    shared pool, which every kind would share)."""
    import apprise  # (already loaded by _notifier: for NotifyFormat)

    notifier = _notifier()
    if not notifier.add(url):
        return Answer(False, True, "the provider's URL cannot be used with this address")
    try:
        result = notifier.notify(title=title, body=body, body_format=apprise.NotifyFormat.TEXT)
    except Exception as exc:  # a plugin's own bug: reported by class only (its text may hold the URL)
        log.warning("a %s send failed inside Apprise (%s)", urlsplit(url).scheme, exc.__class__.__name__)
        return Answer(False, reason="the provider's client failed")
    return _answer(result)
