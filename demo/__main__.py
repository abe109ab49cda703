"""`python -m demo` (`make demo`): plays the story of demo/story.py against a fake Slack and prints what people saw.

Exit status 0 when the story was told; 1 when the demo could not go on (the reason on stderr). Either way, the fake
Slack and the bot it started, and bob's phone (a receiver in this process), are stopped before it exits (Ctrl-C and
SIGTERM too).
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys

from demo import story
from demo.render import render
from demo.workspace import Demo, DemoError, Transcript, run


def _progress(line: str) -> None:
    print(f"demo: {line}", file=sys.stderr, flush=True)


async def _keep(demo: Demo, transcript: Transcript) -> None:
    print(render(transcript), flush=True)
    _progress(f"the bot ({demo.bot.url}), the fake Slack ({demo.fake.url}/_calls?full=1) and bob's phone keep "
              "running: Ctrl-C ends them")
    await asyncio.Event().wait()


async def _main(keep: bool) -> Transcript:
    task = asyncio.current_task()
    assert task is not None
    for signum in (signal.SIGINT, signal.SIGTERM):  # both end the processes (SIGINT even where it was ignored)
        asyncio.get_running_loop().add_signal_handler(signum, task.cancel)
    return await run(story.incident, progress=_progress, keep=_keep if keep else None)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m demo", description="Firefighter tried without Slack: a fake "
                                     "Slack, the bot, and a short incident played through them.")
    parser.add_argument("--keep", action="store_true", help="after the story, keep both running (to open the "
                        "board) until Ctrl-C")
    keep = parser.parse_args(argv).keep
    try:
        transcript = asyncio.run(_main(keep))
    except DemoError as exc:
        _progress(f"failed: {exc}")
        return 1
    except (KeyboardInterrupt, asyncio.CancelledError):
        _progress("stopped; the fake Slack, the bot and bob's phone are stopped too")
        return 130
    if not keep:
        print(render(transcript), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
