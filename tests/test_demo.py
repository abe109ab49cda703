"""`make demo`: the story is told end to end through two real processes, and nothing is left running after it —
whether it ends well, fails half way, or is stopped with Ctrl-C."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
from pathlib import Path

import aiohttp
import pytest

from demo.render import Renderer
from demo.workspace import Demo, DemoError, Transcript, run

ROOT = Path(__file__).resolve().parents[1]
TEST_TOOLS = ("pytest", "_pytest", "pytest_asyncio", "hypothesis", "playwright", "jsonschema", "ruff", "schemathesis",
              "openapi_spec_validator")
# Imported by every Python process started with this folder on PYTHONPATH: the test tools cannot be imported there,
# as in a venv where `make run` or `make demo` installed the bot alone.
WITHOUT_TEST_TOOLS = f"""
import sys

class _NotInstalled:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in {TEST_TOOLS!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}} (the bot alone is installed)", name=name)
        return None

sys.meta_path.insert(0, _NotInstalled())
"""


def without_test_tools(folder: Path) -> dict[str, str]:
    (folder / "sitecustomize.py").write_text(WITHOUT_TEST_TOOLS)
    return {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, (str(folder), os.environ.get("PYTHONPATH"))))}


def alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "\nState:\tZ" not in status  # a zombie has ended; only its exit status is left


def started_pids(stderr: str) -> list[int]:
    return [int(pid) for pid in re.findall(r"started .+? \(pid (\d+)\)", stderr)]


async def test_make_demo_tells_the_story_and_leaves_nothing_running(tmp_path):
    """Run as `make demo` runs it: with the bot's own dependencies only (neither the demo, nor the fake Slack, nor
    the bot may need a test tool)."""
    env = without_test_tools(tmp_path)
    blocked = await asyncio.create_subprocess_exec(sys.executable, "-c", "import pytest", env=env,
                                                   stderr=asyncio.subprocess.PIPE)
    assert b"the bot alone is installed" in (await blocked.communicate())[1]
    process = await asyncio.create_subprocess_exec(sys.executable, "-m", "demo", cwd=ROOT, env=env,
                                                   stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(), 60)
    story, progress = out.decode(), err.decode()
    assert process.returncode == 0, progress
    pids = started_pids(progress)
    assert len(pids) == 2 and not any(alive(pid) for pid in pids)

    channel = "#inc-1-checkout-returns-500-for-eu-users"
    general, incident, bob = (_section(story, name) for name in (
        "#general", channel, "Direct messages between Firefighter and @bob"))
    # Declared through /incident and the form, answered privately, with its own channel.
    assert "alice: /incident declare Checkout returns 500 for EU users" in general
    assert "alice fills in the form “Declare an incident”:" in general and "│ Priority: P0 — immediate" in general
    assert "Firefighter (only visible to @alice):" in general and "Incident INC-1 (P0)" in general
    assert "· Firefighter created the channel" in incident and "Firefighter (📌 pinned):" in incident
    # bob adds his phone (the demo's own push receiver) with the code it received, and is paged there too.
    phone = _section(story, "bob's phone (push notifications beyond Slack, through Apprise to an ntfy-shaped "
                            "receiver)")
    code = re.search(r"📱 push \(topic bob-phone\): Firefighter code\n    Your Firefighter code is (\d{6})", phone)
    assert code, phone
    assert _in_order(bob, "bob: /incident me contact add push bob-phone", f"bob: /incident me contact verify "
                     f"{code[1]}", "Your push address bob-phone is verified", "Your rules: slack 0, push 0.")
    # The first page reaches bob by DM and on his phone; he acknowledges from the phone's link, and the DM says so.
    assert _in_order(bob, "You are paged as primary for 🔴 INC-1 (P0)", "[Acknowledge] [Escalate]",
                     "(bob leaves [Acknowledge] alone",
                     "INC-1 was acknowledged by @bob via push link. @bob commands it.")
    assert "bob presses" not in bob
    assert _in_order(phone, "📱 push (priority max, topic bob-phone): P0 INC-1: Checkout returns 500 for EU users",
                     "You are paged as primary for INC-1 (P0)", "Acknowledge: http://127.0.0.1:",
                     # Opening the link (a GET) shows the button and changes nothing; pressing it (a POST) acknowledges.
                     "bob taps the link: GET http://127.0.0.1:", "→ 200", "“Acknowledge INC-1”",
                     "[Acknowledge INC-1]", "(it changed nothing: the bot said nothing in Slack meanwhile)",
                     "bob presses [Acknowledge INC-1]: POST http://127.0.0.1:", "→ 200", "“INC-1 is acknowledged”")
    assert re.search(r"/ack/[\w.-]{12}…", phone) and not re.search(r"/ack/[\w.-]{13}", story)  # tokens shortened
    # In the incident's channel: acknowledged through the link, an update, resolved, the analysis.
    assert _in_order(incident, "@bob acknowledged INC-1 via push link", "bob: /incident update Rolled back",
                     "Update on INC-1 from @bob", "bob fills in the form “Resolve INC-1”:", "@bob resolved INC-1",
                     "Incident analysis draft for INC-1", "## Follow-ups")
    # The announcement in the rotation's channel, and the board link, which answered while the demo ran.
    assert "🚨 🔴 INC-1 (P0) Checkout returns 500 for EU users" in _section(story, "#payments-firefighters")
    assert re.search(r"Web board: http://127\.0\.0\.1:\d+/board\?token=\S+\n  \(it answered 200", story)
    # People and channels by name: no Slack markup, no ids.
    assert not re.search(r"<[@#!]|\bU0[A-Z]+\b|\bC0[A-Z]+\b|C0000000\d", story), story


def _section(story: str, heading: str) -> str:
    """From a heading to the next one (a blank line, then a line that is not indented)."""
    start = story.index(f"\n{heading}\n")
    end = re.compile(r"\n\n(?=\S)").search(story, start + 1)
    return story[start:end.start() if end else None]


def _in_order(text: str, *parts: str) -> bool:
    at = 0
    for part in parts:
        at = text.find(part, at)
        if at < 0:
            return False
    return True


async def test_a_failure_half_way_stops_both_processes():
    seen: list[Demo] = []

    async def broken(demo: Demo) -> None:
        seen.append(demo)
        await demo.type("U0ALICE", "C0GENERAL", "help")
        raise DemoError("something went wrong half way")

    with pytest.raises(DemoError, match="half way"):
        await run(broken)
    demo = seen[0]
    assert [child.name for child in demo.children] == ["fake Slack", "bot"]
    assert all(child.process.returncode is not None for child in demo.children)
    assert not any(alive(child.process.pid) for child in demo.children)
    async with aiohttp.ClientSession() as session:
        for url in [child.url for child in demo.children] + [demo.phone.url]:  # bob's phone frees its port too
            with pytest.raises(aiohttp.ClientConnectionError):
                await session.get(url)


async def test_ctrl_c_stops_both_processes():
    process = await asyncio.create_subprocess_exec(sys.executable, "-m", "demo", cwd=ROOT,
                                                   stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
    progress = ""
    try:
        while "started bot" not in progress:
            line = await asyncio.wait_for(process.stderr.readline(), 30)
            assert line, progress
            progress += line.decode()
        process.send_signal(signal.SIGINT)
        rest = await asyncio.wait_for(process.stderr.read(), 30)
        await asyncio.wait_for(process.wait(), 30)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode == 130, progress + rest.decode()
    pids = started_pids(progress)
    assert len(pids) == 2 and not any(alive(pid) for pid in pids)


def test_slack_markup_reads_as_a_person_sees_it():
    renderer = Renderer(Transcript(people={"U0BOB": "bob"}, channels={"C07": "inc-7-disk"}, entries=[], calls=[],
                                   responses={}))
    assert renderer.text("<@U0BOB> in <#C07> and <#C08|other> at <!date^1^{time}|09:12 UTC> for <!here>: "
                         "<https://x.example/a|the graph>, *bold* _it_ :rotating_light: &lt;b&gt; snake_case_name") \
        == ("@bob in #inc-7-disk and #other at 09:12 UTC for @here: the graph (https://x.example/a), bold it 🚨 "
            "<b> snake_case_name")
    assert renderer.blocks([
        {"type": "header", "text": {"type": "plain_text", "text": "INC-7"}},
        {"type": "section", "fields": [{"type": "mrkdwn", "text": "*Status*\nNew"},
                                       {"type": "mrkdwn", "text": "*Commander*\n<@U0BOB>"}]},
        {"type": "actions", "elements": [{"type": "button", "text": {"type": "plain_text", "text": "Acknowledge"}}]},
    ]) == ["INC-7", "Status: New · Commander: @bob", "[Acknowledge]"]
