"""`python -m bench [--quick]`: every SPEC §7 measurement, printed as one table with the targets beside it.

`--quick` (for CI) uses fewer requests and smaller databases; the README's table comes from a full run.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import platform

from bench import acks, ticks


def _row(what: str, value: str, target: str = "", ok: bool | None = None) -> str:
    verdict = "" if ok is None else ("met" if ok else "**missed**")
    return f"| {what} | {value} | {target} | {verdict} |"


async def main(quick: bool) -> int:
    requests, concurrency = (400, 100) if quick else (2000, 200)
    sizes = (1_000, 10_000) if quick else (1_000, 10_000, 100_000)
    lines = ["| measurement | result | SPEC §7 target | |", "|---|---|---|---|"]
    missed = 0

    load = await acks.measure(requests, concurrency)
    for kind, label in (("commands", f"`/incident` × {requests} at {concurrency} concurrent"),
                        ("submissions", f"declare-form submissions × {requests} at {concurrency} concurrent")):
        bot, base = load[f"bot_{kind}"], load[f"baseline_{kind}"]
        for q in (50, 95, 99):
            ratio = bot.percentile(q) / base.percentile(q)
            target, ok = ("≤ 1.5× baseline", ratio <= 1.5) if q == 99 and kind == "commands" else ("", None)
            missed += ok is False
            lines.append(_row(f"{label}: p{q} ack", f"{bot.percentile(q) * 1000:.1f} ms vs bare Bolt "
                                                    f"{base.percentile(q) * 1000:.1f} ms = {ratio:.2f}×", target, ok))
        failed = bot.failures + base.failures
        missed += failed > 0
        lines.append(_row(f"{label}: throughput, failures", f"{bot.throughput:.0f}/s (bare Bolt "
                                                           f"{base.throughput:.0f}/s), {bot.failures} failed",
                          "0 failed", failed == 0))
    calls = load["calls_per_declaration"]
    missed += calls > 8
    lines.append(_row("Slack calls per declared incident", f"{calls:.2f}", "≤ 8", calls <= 8))
    for key, label in (("rss_at_rest", "resident memory at rest"), ("rss_after_load", "resident memory after load")):
        ok = load[key] < 150 if key == "rss_at_rest" else None
        missed += ok is False
        lines.append(_row(label, f"{load[key]:.0f} MB", "< 150 MB" if ok is not None else "", ok))

    for size in sizes:
        result = await ticks.measure(size)
        ok = result.median_ms < 50 if size == 100_000 else None
        missed += ok is False
        lines.append(_row(f"tick over {size:,} incidents ({result.open} open)",
                          f"median {result.median_ms:.1f} ms, p90 {result.p90_ms:.1f} ms, {result.statements} SQL "
                          f"statements", "< 50 ms at 100,000" if size == 100_000 else "", ok))
        lines.append(_row(f"first ticks over {size:,} (send the backlog a seeded history has due)",
                          f"{result.first_tick_ms:.0f} ms, {result.first_tick_slack_calls} Slack calls"))
    due = 50 if quick else 200
    per = await ticks.calls_per_due_reminder(due)
    lines.append(_row(f"Slack calls per due P0 reminder ({due} due in one tick)", f"{per:.2f}",
                      "channel + commander's DM"))
    print(f"Firefighter benchmark on {platform.node()} ({platform.python_version()}), "
          f"{'quick' if quick else 'full'} run\n")
    print("\n".join(lines))
    return 1 if missed else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer requests, smaller databases (for CI)")
    logging.basicConfig(level=logging.ERROR)
    raise SystemExit(asyncio.run(main(parser.parse_args().quick)))
