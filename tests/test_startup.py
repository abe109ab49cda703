"""Start-up as an operator meets it (SPEC §3): every way it cannot go on is one line naming the problem and exit 2,
"listening" is said only once the port is taken, warnings name what looks wrong, and a quiet bot logs nothing."""

from __future__ import annotations

import asyncio
import signal
import socket
import sys
from pathlib import Path

import pytest

from tests.conftest import SECRET, TOKEN, cannot_run
from tests.test_process import bot_env, free_port, wait_healthy

ROOT = Path(__file__).resolve().parents[1]


async def start(cwd: Path, **env: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(sys.executable, "-m", "bot", cwd=cwd, env=bot_env(**env),
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)


async def refused(cwd: Path, **env: str) -> str:
    """Run `python -m bot` to its end; it must exit 2 with exactly one line on stderr, which is returned."""
    process = await start(cwd, **env)
    stdout, stderr = await asyncio.wait_for(process.communicate(), 30)
    lines = stderr.decode().strip().splitlines()
    assert process.returncode == 2, stderr.decode()
    assert len(lines) == 1 and stdout == b"", stderr.decode()
    return lines[0]


async def stop(process: asyncio.subprocess.Process) -> str:
    process.send_signal(signal.SIGTERM)
    _, stderr = await asyncio.wait_for(process.communicate(), 15)
    return stderr.decode()


@pytest.mark.parametrize(("url", "expected"), [
    ("postgresql://u:secret@127.0.0.1:1/x", "firefighter: setting DATABASE_URL: cannot use postgresql://u:***@127.0.0.1:1/x:"
                                            " connection failed"),
    ("mysql://u:secret@localhost/x", "firefighter: setting DATABASE_URL: mysql://u:***@localhost/x needs the Python "
                                     "driver 'MySQLdb', which is not installed"),
    ("notaurl", "firefighter: setting DATABASE_URL: 'notaurl' is not a database URL"),
    ("nosuchdb://x", "firefighter: setting DATABASE_URL: nosuchdb://x: 'nosuchdb' is not a database SQLAlchemy knows"),
    ("sqlite:////nonexistent-dir/ff.db", "firefighter: setting DATABASE_URL: cannot use sqlite:////nonexistent-dir/ff.db:"
                                         " unable to open database file"),
])
async def test_a_database_it_cannot_use_stops_start_up_with_one_line(tmp_path, url, expected):
    line = await refused(tmp_path, SLACK_BOT_TOKEN=TOKEN, SLACK_SIGNING_SECRET=SECRET, DATABASE_URL=url,
                         HOST="127.0.0.1", PORT=str(free_port()))
    assert line.startswith(expected) and "secret" not in line


async def test_a_postgresql_database_that_does_not_exist_stops_start_up_with_one_line(tmp_path, postgres):
    if not postgres.url:
        cannot_run(f"PostgreSQL is not available: {postgres.why_not}")
    url = postgres.url.rsplit("/", 1)[0] + "/no_such_database"
    line = await refused(tmp_path, SLACK_BOT_TOKEN=TOKEN, SLACK_SIGNING_SECRET=SECRET, DATABASE_URL=url,
                         HOST="127.0.0.1", PORT=str(free_port()))
    assert line.startswith("firefighter: setting DATABASE_URL: cannot use ") and "no_such_database" in line


async def test_a_port_in_use_stops_start_up_with_one_line_and_never_says_listening(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        line = await refused(tmp_path, SLACK_BOT_TOKEN=TOKEN, SLACK_SIGNING_SECRET=SECRET, HOST="127.0.0.1",
                             PORT=str(port), DATABASE_URL=f"sqlite:///{tmp_path / 'ff.db'}")
    assert line == f"firefighter: setting PORT: 127.0.0.1:{port} is already in use (another process listens there; " \
                   "stop it or choose another PORT)"


async def test_a_host_that_is_not_ours_stops_start_up_with_one_line(tmp_path):
    line = await refused(tmp_path, SLACK_BOT_TOKEN=TOKEN, SLACK_SIGNING_SECRET=SECRET, HOST="192.0.2.1",
                         PORT=str(free_port()), DATABASE_URL=f"sqlite:///{tmp_path / 'ff.db'}")
    assert line == "firefighter: setting HOST: 192.0.2.1 is not an address of this machine"


@pytest.mark.parametrize("dotenv", [False, True])
async def test_an_empty_token_reads_as_required(tmp_path, dotenv):
    if dotenv:
        (tmp_path / ".env").write_text("SLACK_BOT_TOKEN=\nSLACK_SIGNING_SECRET=s\n")
        line = await refused(tmp_path)
    else:
        line = await refused(tmp_path, SLACK_BOT_TOKEN="", SLACK_SIGNING_SECRET="s")
    assert line == "firefighter: setting SLACK_BOT_TOKEN is required"


async def test_the_env_example_as_it_ships_stops_start_up_against_slack(tmp_path):
    (tmp_path / ".env").write_text((ROOT / ".env.example").read_text())
    line = await refused(tmp_path)
    assert line.startswith("firefighter: setting SLACK_BOT_TOKEN: 'xoxb-your-bot-token' is the placeholder from "
                           ".env.example")


async def test_listening_is_said_once_the_port_takes_connections(tmp_path, fake_slack):
    port = free_port()
    process = await start(tmp_path, SLACK_BOT_TOKEN=TOKEN, SLACK_SIGNING_SECRET=SECRET,
                          SLACK_API_URL=fake_slack.api_url, DATABASE_URL=f"sqlite:///{tmp_path / 'ff.db'}",
                          HOST="127.0.0.1", PORT=str(port))
    try:
        assert process.stderr is not None
        line = await asyncio.wait_for(process.stderr.readline(), 30)
        assert f"INFO bot: Firefighter listening on 127.0.0.1:{port}, HTTP (/slack/events)" in line.decode()
        with socket.create_connection(("127.0.0.1", port), timeout=5):  # refused if said before the bind
            pass
        await wait_healthy(f"http://127.0.0.1:{port}", process)
    finally:
        await stop(process)


async def test_placeholders_and_misspelt_settings_are_warned_about_and_start_up_goes_on(tmp_path, fake_slack):
    """Against a fake Slack the placeholders can work, so they are a warning there, one line each."""
    (tmp_path / ".env").write_text((ROOT / ".env.example").read_text() + "P0_UPDATE_INTERVALL=10m\n")
    port = free_port()
    process = await start(tmp_path, SLACK_API_URL=fake_slack.api_url, SLACK_SIGNING_SECRT="x", HOST="127.0.0.1",
                          PORT=str(port), DATABASE_URL=f"sqlite:///{tmp_path / 'ff.db'}")
    try:
        await wait_healthy(f"http://127.0.0.1:{port}", process)
    finally:
        stderr = await stop(process)
    warnings = [line.split(" WARNING bot: ", 1)[1] for line in stderr.splitlines() if " WARNING bot: " in line]
    assert warnings == [
        "setting SLACK_BOT_TOKEN: 'xoxb-your-bot-token' is the placeholder from .env.example, not a real value "
        "(fine only against a fake Slack)",
        "setting SLACK_SIGNING_SECRET: 'your-signing-secret' is the placeholder from .env.example, not a real value "
        "(fine only against a fake Slack)",
        "P0_UPDATE_INTERVALL (in .env) is not a setting; did you mean P0_UPDATE_INTERVAL?",
        "SLACK_SIGNING_SECRT (in the environment) is not a setting; did you mean SLACK_SIGNING_SECRET?",
    ]


@pytest.mark.parametrize("level", ["INFO", "DEBUG"])
async def test_ticks_with_nothing_to_do_write_nothing_at_info(tmp_path, fake_slack, level):
    port = free_port()
    process = await start(tmp_path, SLACK_BOT_TOKEN=TOKEN, SLACK_SIGNING_SECRET=SECRET, SCHEDULER_TICK="0.5s",
                          SLACK_API_URL=fake_slack.api_url, DATABASE_URL=f"sqlite:///{tmp_path / 'ff.db'}",
                          HOST="127.0.0.1", PORT=str(port), LOG_LEVEL=level)
    seen = ""
    try:
        await wait_healthy(f"http://127.0.0.1:{port}", process)
        if level == "DEBUG":  # the ticks do run, and DEBUG still shows them: read until three have
            while seen.count('Running job "what is due now') < 3:
                seen += (await asyncio.wait_for(process.stderr.readline(), 30)).decode()
        else:
            await asyncio.sleep(2)  # about four ticks, in which INFO must say nothing
    finally:
        stderr = seen + await stop(process)
    ran = stderr.count('Running job "what is due now')
    if level == "DEBUG":
        assert ran >= 3, stderr
    else:
        assert ran == 0
        assert [line for line in stderr.splitlines() if " INFO " in line or " WARNING " in line] == \
            [line for line in stderr.splitlines() if "Firefighter listening on" in line], stderr
