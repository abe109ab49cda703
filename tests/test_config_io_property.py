"""The SPEC's promise over generated configurations: applied into database A, exported, and the export applied into
an empty database B some days later, B answers who is on call exactly as A does at every moment checked over the
next 8 weeks (every 7 hours and a minute either side of every handoff and layer edge), exports the same file, and a
second apply changes nothing. SQLite here for speed; the fixed example in test_config_io.py runs on both databases.
"""

from __future__ import annotations

import shutil
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.test_config_io import answers, config, exported, rows, settings_for

START = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
PEOPLE = [f"U0P{n}" for n in range(1, 7)]
ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata", "Australia/Sydney"]
WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
LAYER_DAYS = ["mon-fri", "sat,sun", "daily", "tue,thu", "fri-mon"]
LAYER_HOURS = ["08:00-16:00", "22:00-06:00", "00:00-24:00", "09:30-17:45", "16:00-08:00"]


@st.composite
def handoffs(draw) -> dict:
    weekday = draw(st.integers(0, 6))
    at = f"{draw(st.integers(0, 23)):02d}:{draw(st.sampled_from([0, 30])):02d}"
    handoff = {"weekday": WEEKDAYS[weekday], "time": at,
               "timezone": draw(st.sampled_from(ZONES)), "shift_days": draw(st.sampled_from([1, 3, 7, 14])),
               "roles": draw(st.integers(1, 3))}
    if draw(st.booleans()):  # a first shift on that weekday, up to a year back
        day = date(2026, 11, 23) - timedelta(weeks=draw(st.integers(0, 52)))
        handoff["first_shift"] = (day + timedelta(days=weekday)).isoformat()
    return handoff


def roster(draw, most: int) -> list[dict]:
    return [{"slack_id": u} for u in draw(st.lists(st.sampled_from(PEOPLE), min_size=1, max_size=most, unique=True))]


@st.composite
def configurations(draw) -> dict:
    names = draw(st.lists(st.sampled_from(["alpha", "beta", "gamma"]), min_size=1, max_size=3, unique=True))
    rotations = []
    for n, name in enumerate(names):
        rotation = {"name": name, "channel": f"C0R{n}", "handoff": draw(handoffs()), "roster": roster(draw, 4)}
        layers = []
        for i in range(draw(st.integers(0, 2))):
            layers.append({"name": f"layer{i}", "days": draw(st.sampled_from(LAYER_DAYS)),
                           "hours": draw(st.sampled_from(LAYER_HOURS)), "timezone": draw(st.sampled_from(ZONES)),
                           "roster": roster(draw, 3)})
        if layers:
            rotation["layers"] = layers
        if draw(st.booleans()):
            rotation["policies"] = {"P0": {"steps": [{"page": "primary", "wait": "5m"}, {"page": "channel"}]}}
        rotations.append(rotation)
    return {"rotations": rotations}


def empty_database(template, folder) -> str:
    path = folder / f"{uuid.uuid4().hex}.db"
    shutil.copyfile(template, path)
    return f"sqlite:///{path}"


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(configurations(), st.integers(0, 20 * 24))
def test_export_then_apply_answers_the_same_for_8_weeks(sqlite_template, tmp_path, data, hours_later):
    a, b = empty_database(sqlite_template, tmp_path), empty_database(sqlite_template, tmp_path)
    file = tmp_path / f"{uuid.uuid4().hex}.yaml"
    file.write_text(yaml.safe_dump(data, sort_keys=False))
    code, _, err = config(a, "apply", str(file), now=START)
    assert (code, err) == (0, "")
    later = START + timedelta(hours=hours_later)
    text = exported(a, later)
    file.write_text(text)
    code, _, err = config(b, "apply", str(file), now=later)
    assert (code, err) == (0, "")
    assert exported(b, later) == text
    team = settings_for(a)
    assert answers(a, later, team) == answers(b, later, team)
    before = rows(b)
    assert config(b, "apply", str(file), now=later + timedelta(hours=1)) == (0, "No changes.", "")
    assert rows(b) == before


@pytest.mark.parametrize("hours", ["08:00-16:00", "22:00-06:00"])
def test_a_changed_handoff_keeps_whoever_is_on_call_then_turns_as_the_file_says(sqlite_template, tmp_path, hours):
    """An existing rotation given a new handoff and first shift: from the next boundary on, the same answers as a
    database that was given the file from the start."""
    a, b = empty_database(sqlite_template, tmp_path), empty_database(sqlite_template, tmp_path)
    first = {"rotations": [{"name": "alpha", "channel": "C0A", "roster": [{"slack_id": u} for u in PEOPLE[:3]],
                            "handoff": {"weekday": "tue", "time": "10:00", "timezone": "UTC"},
                            "layers": [{"name": "night", "days": "daily", "hours": hours, "timezone": "UTC",
                                        "roster": [{"slack_id": "U0P5"}, {"slack_id": "U0P6"}]}]}]}
    file = tmp_path / "first.yaml"
    file.write_text(yaml.safe_dump(first))
    assert config(a, "apply", str(file), now=START)[0] == 0
    second = yaml.safe_load(yaml.safe_dump(first))
    second["rotations"][0]["handoff"] = {"weekday": "fri", "time": "17:00", "timezone": "Europe/Berlin",
                                         "shift_days": 14, "first_shift": "2026-10-02"}
    file.write_text(yaml.safe_dump(second))
    before = answers(a, START, settings_for(a), weeks=1)["alpha"]
    code, said, _ = config(a, "apply", str(file), now=START + timedelta(days=2))
    assert code == 0 and said.splitlines()[0] == ("~ rotation alpha: handoff tue 10:00 UTC → fri 17:00 "
                                                  "Europe/Berlin, every 14 days")
    boundary = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)  # the next Tuesday 10:00: the change takes effect
    kept = answers(a, START, settings_for(a), weeks=1)["alpha"]
    assert [x for x in kept if x[0] < boundary] == [x for x in before if x[0] < boundary]
    assert config(b, "apply", str(file), now=boundary)[0] == 0
    assert answers(a, boundary, settings_for(a)) == answers(b, boundary, settings_for(b))
    assert config(a, "apply", str(file), now=boundary + timedelta(days=30))[1] == "No changes."
