"""`python -m bot import opsgenie|pagerduty (--plan | --apply | --compare)` (SPEC § Moving in): read a source's REST
API, say what each object becomes, import it, and check the import against the source's own answers. Exit 0;
1 when --compare finds a disagreement or an object failed to import; 2 when the source, Slack or the settings
cannot be used."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable, Iterable
from typing import TextIO

import aiohttp
from slack_sdk.errors import SlackApiError
from tqdm import tqdm

from bot.db import repo
from bot.importers.apply import Applier
from bot.importers.client import SourceRefused
from bot.importers.compare import compare
from bot.importers.opsgenie import API_URL as OPSGENIE_URL
from bot.importers.opsgenie import Opsgenie
from bot.importers.pagerduty import API_URL as PAGERDUTY_URL
from bot.importers.pagerduty import PagerDuty
from bot.importers.plan import KINDS, Planner, Progress
from bot.importers.sources import read_opsgenie, read_pagerduty

REFUSED = 2


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="python -m bot import", description="Move schedules, overrides, escalation "
                                  "policies and heartbeats in from Opsgenie or PagerDuty (read-only there).")
    sources = top.add_subparsers(dest="source", required=True)
    for source, key, url in (("opsgenie", "--api-key", OPSGENIE_URL), ("pagerduty", "--token", PAGERDUTY_URL)):
        one = sources.add_parser(source, help=f"import from {source}")
        one.add_argument(key, dest="key", required=True, help="a read-only API key (users, schedules, escalations)")
        one.add_argument("--api-url", default=url, help=f"the API's address (default {url})")
        what = one.add_mutually_exclusive_group(required=True)
        what.add_argument("--plan", action="store_const", dest="mode", const="plan",
                          help="list every object ✓ (what it becomes) or ✗ (why not); change nothing")
        what.add_argument("--apply", action="store_const", dest="mode", const="apply",
                          help="import the ✓ objects; running it again changes nothing")
        what.add_argument("--compare", action="store_const", dest="mode", const="compare",
                          help="ask the source who is on call at sample moments; exit 1 on any disagreement")
        one.add_argument("--channel", action="append", default=[], metavar="NAME=#CHANNEL",
                         help="the Slack channel of a schedule's rotation, by schedule or team name (repeatable)")
        one.add_argument("--days", type=int, default=56, help="--compare: how many days ahead (default 56)")
        one.add_argument("--samples", type=int, default=20, help="--compare: how many moments (default 20)")
    return top


def progress_bar(stream: TextIO) -> Progress:
    """A bar on the terminal for long work (tqdm hides itself when the output is not a terminal)."""
    def progress(items: Iterable, what: str) -> Iterable:
        return tqdm(items, desc=what, file=stream, disable=None, leave=False)
    return progress


async def run_import(options: argparse.Namespace, runtime, say: Callable[[str], None],
                     progress: Progress = lambda items, _what: items) -> int:
    """The import against a built runtime (its database, Slack and clock); what it has to say goes to `say`."""
    services, now = runtime.services, runtime.services.rotations.clock.now()
    if not 1 <= options.days <= 90 or not 1 <= options.samples <= 500:
        say("✗ --days is 1 to 90 (PagerDuty renders 90 days at most) and --samples 1 to 500.")
        return REFUSED
    client = Opsgenie(options.key, options.api_url) if options.source == "opsgenie" else \
        PagerDuty(options.key, options.api_url)
    reader = read_opsgenie if options.source == "opsgenie" else read_pagerduty
    try:
        data = await reader(client, now)
        plan = await Planner(runtime.settings, runtime.db, runtime.slack, progress).plan(data, options.channel, now)
    except SourceRefused as exc:
        say(f"✗ {exc}")
        return REFUSED
    except SlackApiError as exc:
        error = exc.response.get("error")
        hint = " (add users:read.email to the app: manifest.yml asks for it)" if error == "missing_scope" else ""
        say(f"✗ Slack refused a look-up: {error}{hint}")
        return REFUSED
    except ValueError as exc:
        say(f"✗ {exc}")
        return REFUSED
    except (aiohttp.ClientError, OSError, TimeoutError) as exc:  # Slack out of reach after its client's retries
        say(f"✗ could not reach Slack ({exc.__class__.__name__}): try again in a moment; nothing was changed.")
        return REFUSED
    if options.mode == "plan":
        for kind in KINDS:
            for item in (i for i in plan.items if i.kind == kind):
                say(item.line())
        ready = [i for i in plan.items if i.ok and not i.done and i.kind != "user"]
        done = [i for i in plan.items if i.done]
        refused = [i for i in plan.items if not i.ok and i.kind != "user"]
        say(f"Plan: {len(ready)} to import, {len(done)} imported already, {len(refused)} refused (✗); "
            f"{len(plan.slack_of)} of {len(data.emails)} people found in Slack. Nothing was changed.")
        return 0
    if options.mode == "apply":
        for item in plan.items:
            if not item.ok:
                say(item.line())
        admins = runtime.settings.admins
        made, already, failed = Applier(runtime.db, services.rotations.clock, services.outbox,
                                        admins[0] if admins else None, progress).apply(plan, say)
        refused = sum(1 for i in plan.items if not i.ok and i.kind != "user")
        say(f"Imported {made}, {already} imported already, {refused} refused (✗)"
            + (f", {failed} failed (run --apply again)" if failed else "")
            + ". Check it with --compare before you switch.")
        return 1 if failed else 0
    rotations = services.rotations

    def ours(name: str, at) -> str | None:
        with runtime.db.reading() as session:
            rotation = repo.rotations.rotation_by_name(session=session, name=name)
            return rotations.on_call(session, rotation, at).primary if rotation else None
    try:
        wrong = await compare(plan, client, ours, now, options.days, options.samples, say, progress)
    except SourceRefused as exc:
        say(f"✗ {exc}")
        return REFUSED
    say(f"{wrong} disagreement{'s' if wrong != 1 else ''}." + (" The import answers as the source does."
                                                              if not wrong else ""))
    return 1 if wrong else 0


def main(argv: list[str]) -> int:
    from bot.__main__ import StartupError, _clock, _refuse, open_for_command
    from bot.runtime.wiring import build_runtime

    options = parser().parse_args(argv)
    try:
        settings, engine = open_for_command()
    except StartupError as exc:
        return _refuse(str(exc))
    engine.dispose()  # (checked as start-up checks it; the runtime opens its own)
    runtime = build_runtime(settings, clock=_clock(), scheduler=False)
    try:
        return asyncio.run(run_import(options, runtime, lambda line: print(line, flush=True),
                                      progress_bar(sys.stderr)))
    finally:
        runtime.db.close()
        runtime.engine.dispose()
