"""`python -m bot config export|apply` (SPEC § HTTP API and configuration as code), on SQLite and PostgreSQL: a
database configured through the commands exports as the expected YAML, with no secret in it; applied into an empty
database it exports the same and answers who is on call the same for 8 weeks; a second apply changes nothing;
--diff changes nothing; --prune removes what the file leaves out; a bad file is refused whole. The property test
over generated configurations is in test_config_io_property.py."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
import yaml
from sqlmodel import Session, select

from bot.config import Settings, load_settings
from bot.config_io.cli import parser, run
from bot.db import repo
from bot.db.contact_models import ContactMethod
from bot.db.engine import make_engine
from bot.db.models import Delivery
from bot.domain.layers import layer_boundaries
from bot.domain.rotation import on_call
from bot.services.rotations import Rotations
from tests.test_paging import with_rotation
from tests.test_process import bot_env
from tests.test_rotations import say

CONFIG_TABLES = ("rotation", "rotation_member", "roster_version", "shift_change", "rotation_layer",
                 "escalation_policy", "person_holidays", "alert_route", "incident_type", "status_component", "outbox")


def settings_for(url: str, **values) -> Settings:
    return load_settings(_env_file=None, slack_bot_token="xoxb-test", slack_signing_secret="s", database_url=url,
                         **values)


def config(url: str, *argv: str, now: datetime, settings: Settings | None = None) -> tuple[int, str, str]:
    """The command run in this process: (exit code, what it printed, what it complained)."""
    engine = make_engine(url)
    out: list[str] = []
    err: list[str] = []
    try:
        code = run(parser().parse_args(list(argv)), settings or settings_for(url), engine, now, out.append,
                   err.append)
    finally:
        engine.dispose()
    return code, "\n".join(out), "\n".join(err)


def exported(url: str, now: datetime) -> str:
    code, text, err = config(url, "export", now=now)
    assert code == 0, err
    return text


def rows(url: str) -> dict[str, list[tuple]]:
    """Every row of the tables configuration lives in (and the outbox), as stored."""
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return {table: sorted(tuple(map(str, row)) for row in connection.execute(sa.text(f"SELECT * FROM {table}")))
                    for table in CONFIG_TABLES}
    finally:
        engine.dispose()


def answers(url: str, since: datetime, settings: Settings, weeks: int = 8) -> dict[str, list[tuple]]:
    """Who is on call on each rotation at many moments from `since` on: every 7 hours, and a minute either side of
    every handoff and layer edge — by the rule the bot uses (Rotations.inputs, then the domain's on_call)."""
    engine = make_engine(url)
    rotations = Rotations(settings, None, None, None, None, None)  # (who is on call reads only the session)
    until = since + timedelta(weeks=weeks)
    found = {}
    try:
        with Session(engine) as session:
            for rotation in repo.rotations.all_rotations(session=session):
                inputs = rotations.inputs(session, rotation, since)
                moments = {since + timedelta(hours=7 * n) for n in range(weeks * 24)}
                edge = on_call(inputs.members, since, **inputs.rules()).shift_end
                while edge < until:
                    moments |= {edge - timedelta(minutes=1), edge, edge + timedelta(minutes=1)}
                    edge = on_call(inputs.members, edge, **inputs.rules()).shift_end
                for edge in layer_boundaries(inputs.layers, since, until):
                    moments |= {edge - timedelta(minutes=1), edge + timedelta(minutes=1)}
                held = [(m, on_call(inputs.members, m, **inputs.rules())) for m in sorted(moments)
                        if since <= m < until]
                found[rotation.name] = [(m, o.primary, o.secondary, o.tertiary, o.layer) for m, o in held]
    finally:
        engine.dispose()
    return found


def without_emails(text: str) -> str:
    return re.sub(r"\n *email: \S+", "", text)


@pytest.fixture
def empty_url(database_url, request, tmp_path):
    """A second database of the same kind, migrated and empty."""
    if database_url.startswith("sqlite"):
        path = tmp_path / "empty.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    server = request.getfixturevalue("postgres")
    url = server.lend_database()
    yield url
    server.take_back(url)


async def configured(bot) -> str:
    """payments (U0A, U0B, U0C) set up through the commands: its own handoff, a layer, a P0 policy, a route, a type,
    a component, U0A's holidays and verified email, a routing key and a heartbeat. Returns the routing key."""
    await with_rotation(bot)
    for user in ("U0D", "U0E"):
        bot.fake.add_user(user, tz="Europe/Berlin")
    for text in ("rotation set payments handoff mon 09:00 Europe/Berlin",
                 "rotation layer add payments emea mon-fri 08:00-16:00 Europe/Berlin",
                 "rotation layer roster payments emea <@U0D|d> <@U0E|e>",
                 "rotation escalation payments P0 primary 5m, <@U0B|b> 10m, channel",
                 "route add env=prod,team=db payments P1", "type add database rotation payments priority P1",
                 "status component add API group Core", "me holidays DE-BY",
                 "heartbeat create nightly-backup 1d payments"):
        await say(bot, text)
    key = re.search(r"`([0-9a-f]{32})`", (await say(bot, "rotation key payments"))["text"])[1]
    with bot.session() as session:
        session.add(ContactMethod(user_id="U0A", kind="email", address="ana@example.com",
                                  verified_at=bot.clock.now(), created_at=bot.clock.now()))
        session.add(ContactMethod(user_id="U0B", kind="email", address="bo@example.com", created_at=bot.clock.now()))
        session.commit()
    bot.clock.advance(days=8)  # the handoff set above has taken effect
    return key


EXPECTED = """\
# Firefighter's configuration (`python -m bot config export`). Change it and run
# `python -m bot config apply FILE --diff` to see what would change, then without --diff to change it.
version: 1
rotations:
- name: payments
  channel: C0PAY
  handoff:
    weekday: mon
    time: 09:00
    timezone: Europe/Berlin
    shift_days: 7
    roles: 3
    first_shift: '2026-11-23'
  roster:
  - slack_id: U0A
    email: ana@example.com
  - slack_id: U0B
  - slack_id: U0C
  layers:
  - name: emea
    days: mon-fri
    hours: 08:00-16:00
    timezone: Europe/Berlin
    roster:
    - slack_id: U0D
    - slack_id: U0E
  policies:
    P0:
      steps:
      - page: primary
        wait: 5m
      - person:
          slack_id: U0B
        wait: 10m
      - page: channel
holidays:
- slack_id: U0A
  email: ana@example.com
  calendar: DE-BY
routes:
- match:
    env: prod
    team: db
  rotation: payments
  priority: P1
types:
- name: database
  rotation: payments
  priority: P1
components:
- name: API
  group: Core"""


async def test_export_then_apply_into_an_empty_database_answers_the_same_for_8_weeks(make_bot, empty_url,
                                                                                      tmp_path):
    bot = await make_bot(status_page=True)
    key = await configured(bot)
    now = bot.clock.now()
    url = bot.runtime.settings.database_url
    text = exported(url, now)
    assert text == EXPECTED
    assert key not in text and "nightly" not in text and "bo@example.com" not in text  # no secret, no heartbeat,
    # no address its owner has not verified
    file = tmp_path / "firefighter.yaml"
    assert config(url, "export", "--file", str(file), now=now)[:2] == (0, f"Wrote the configuration to {file}.")
    assert file.read_text() == text + "\n"

    later = now + timedelta(days=3, hours=5)
    code, said, err = config(empty_url, "apply", str(file), now=later)
    assert (code, err) == (0, "")
    assert said.splitlines() == [
        "+ rotation payments (C0PAY, mon 09:00 Europe/Berlin, 3 people, 1 layer, P0 policy)",
        "+ holidays U0A (DE-BY)", "+ route env=prod,team=db (→ payments as P1)",
        "+ type database (rotation payments, P1)", "+ component API (API in group Core)", "Applied 5 changes."]
    assert exported(empty_url, later) == without_emails(text)  # (an address is known once its owner verified it)
    settings = bot.runtime.settings
    assert answers(url, later, settings) == answers(empty_url, later, settings)

    before = rows(empty_url)
    assert config(empty_url, "apply", str(file), now=later + timedelta(hours=1)) == (0, "No changes.", "")
    assert rows(empty_url) == before


async def test_changes_diff_and_prune(make_bot, tmp_path):
    bot = await make_bot(status_page=True)
    await configured(bot)
    now = bot.clock.now()
    url = bot.runtime.settings.database_url
    data = yaml.safe_load(exported(url, now))
    payments = data["rotations"][0]
    payments["handoff"]["time"] = "11:00"
    payments["roster"] = [{"slack_id": "U0C"}, {"email": "ANA@example.com"}, {"slack_id": "U0B"}]
    payments["layers"][0]["hours"] = "07:00-15:00"
    del payments["policies"]
    data["rotations"].append({"name": "search", "channel": "C0SEARCH", "roster": [{"slack_id": "U0E"}],
                              "handoff": {"weekday": "wed", "time": "10:00", "timezone": "UTC"}})
    data["routes"] = [{"match": {"service": "search"}, "rotation": "search"}]
    data["types"] = []
    file = tmp_path / "changed.yaml"
    file.write_text(yaml.safe_dump(data, sort_keys=False))
    before = rows(url)

    code, said, _ = config(url, "apply", str(file), "--diff", now=now)
    lines = [
        "~ rotation payments: handoff mon 09:00 Europe/Berlin → mon 11:00 Europe/Berlin",
        "~ rotation payments: roster U0A, U0B, U0C → U0C, U0A, U0B",
        "~ rotation payments: layer emea mon-fri 08:00-16:00 Europe/Berlin: U0D, U0E → emea mon-fri 07:00-15:00 "
        "Europe/Berlin: U0D, U0E",
        "~ rotation payments: P0 policy primary 5m → U0B 10m → channel → the default chain",
        "+ rotation search (C0SEARCH, wed 10:00 UTC, 1 person)",
        "+ route service=search (→ search)",
        "~ routes order: tried in the order service=search; env=prod,team=db"]  # the file's first, then the rest
    assert code == 0 and said.splitlines() == [*lines, "4 changes to make; --diff: nothing was changed."]
    assert rows(url) == before

    code, said, _ = config(url, "apply", str(file), now=now)
    assert code == 0 and said.splitlines() == [*lines, "Applied 4 changes."]
    assert config(url, "apply", str(file), now=now + timedelta(minutes=5))[1] == "No changes."
    shown = yaml.safe_load(exported(url, now))
    assert [r["match"] for r in shown["routes"]] == [{"service": "search"}, {"env": "prod", "team": "db"}]
    assert [t["name"] for t in shown["types"]] == ["database"]  # without --prune: kept
    with bot.session() as session:  # the new handoff from the next boundary, as `rotation set` does it
        rotation = repo.rotations.rotation_by_name(session=session, name="payments")
        who = bot.runtime.services.rotations.on_call(session, rotation, now)
        assert who.shift_start.astimezone(UTC).hour == 8  # (09:00 in Berlin, in winter)
    with bot.session() as session:  # said in the rotation's channel, through the outbox
        posts = [json.loads(d.payload)["text"] for d in session.exec(select(Delivery)) if d.lane == "channel:C0PAY"]
    assert any(p.startswith(":gear: `python -m bot config apply` changed the rotation `payments`:\n• handoff mon "
                            "09:00") for p in posts), posts

    data["rotations"] = data["rotations"][1:]  # payments is left out: --prune would remove it...
    file.write_text(yaml.safe_dump(data, sort_keys=False))
    before = rows(url)
    code, said, err = config(url, "apply", str(file), "--prune", now=now)
    assert code == 2 and rows(url) == before  # ... but its heartbeat refers to it
    assert err.splitlines() == ["✗ the rotation `payments` cannot be removed while these use it: 1 heartbeat (they "
                                "are kept, and so is it). Name it in the file, or run without --prune.",
                                "Nothing was changed."]
    with bot.session() as session:
        session.exec(sa.text("DELETE FROM heartbeat"))
        session.commit()
    code, said, err = config(url, "apply", str(file), "--prune", now=now)
    assert (code, err) == (0, "")
    assert said.splitlines() == ["- rotation payments", "- route env=prod,team=db", "- type database",
                                 "Applied 3 changes."]
    shown = yaml.safe_load(exported(url, now))
    assert [r["name"] for r in shown["rotations"]] == ["search"] and shown["types"] == []
    assert shown["components"] == [{"name": "API", "group": "Core"}]  # named in the file: kept


BAD = {
    "rotations: [\n": ["not YAML at line 2, column 1: expected the node content, but found '<stream end>'"],
    "rotations:\n- name: payments\n  channel: C0PAY\n  colour: red\n  handoff: {weekday: tues, time: 10:00, "
    "timezone: UTC}\n": [
        "rotations[0] (payments).handoff.weekday: Input should be 'mon', 'tue', 'wed', 'thu', 'fri', 'sat' or 'sun'",
        "rotations[0] (payments).handoff.time: Input should be a valid string (YAML read 600: put the value in "
        "quotes, like '10:00' or 'mon-fri')",
        "rotations[0] (payments).colour: unknown key"],
    "rotations:\n- {name: a, channel: C0A, handoff: {weekday: tue, time: '10:00', timezone: Mars/Base}, roster: "
    "[{email: nobody@example.com}]}\n- {name: a, channel: C0B, handoff: {weekday: tue, time: '25:00', timezone: UTC}}"
    "\n": ["rotations[1] (a).handoff.time: '25:00' is not a time: HH:MM on the 24-hour clock, like '09:00'"],
    "rotations:\n- {name: a, channel: C0A, handoff: {weekday: tue, time: '10:00', timezone: Mars/Base}, roster: "
    "[{email: nobody@example.com}], layers: [{name: l, days: someday, hours: 08:00-16:00, timezone: UTC, roster: "
    "[{slack_id: U0A}]}]}\n- {name: a, channel: C0A, handoff: {weekday: tue, time: '10:00', timezone: UTC}}\n"
    "routes: [{match: {env: prod}, rotation: nowhere}]\ntypes: [{name: security}]\n": [
        "rotations[0] (a).handoff.timezone: `Mars/Base` is not a timezone I know (an IANA name like Europe/Berlin, "
        "or UTC)",
        "rotations[0] (a).roster[0]: nobody here verified nobody@example.com as their email (a verified email "
        "contact method): give their slack_id",
        "rotations[0] (a).layers[0] (l): `someday` is not days: say `mon-fri`, `sat,sun` or `daily`.",
        "routes[0] (env=prod): there is no rotation `nowhere` in the file or the database",
        "types[0] (security): `security` is built in (private, always offered): leave it out",
        "the rotation `a` is named 2 times", "the channel `C0A` is named 2 times"],
}


@pytest.mark.parametrize("text", list(BAD))
def test_a_bad_file_is_refused_whole_with_one_line_per_problem(database_url, tmp_path, text):
    file = tmp_path / "bad.yaml"
    file.write_text(text)
    before = rows(database_url)
    code, said, err = config(database_url, "apply", str(file), now=datetime(2026, 11, 25, tzinfo=UTC))
    problems = BAD[text]
    assert (code, said) == (2, "")
    assert err.splitlines() == [f"✗ {file}: {p}" for p in problems] + [
        f"{len(problems)} problem{'s' if len(problems) > 1 else ''}; nothing was changed."]
    assert rows(database_url) == before


def test_the_command_line_as_an_operator_runs_it(tmp_path):
    """`python -m bot config …` itself: no Slack token needed, an empty database file gets its tables."""
    file = tmp_path / "config.yaml"
    file.write_text("rotations:\n- name: ops\n  channel: C0OPS\n  handoff: {weekday: mon, time: '09:00', "
                    "timezone: UTC}\n  roster: [{slack_id: U0A}, {slack_id: U0B}]\n")
    env = bot_env(DATABASE_URL=f"sqlite:///{tmp_path / 'new.db'}")

    def bot(*argv: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "bot", "config", *argv], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=60)
    done = bot("apply", str(file))
    assert (done.returncode, done.stderr) == (0, "") and done.stdout.startswith("+ rotation ops"), done
    done = bot("export")
    assert done.returncode == 0 and "- name: ops" in done.stdout and "slack_id: U0B" in done.stdout
    done = bot("apply", str(tmp_path / "missing.yaml"))
    assert done.returncode == 2 and "cannot read" in done.stderr
