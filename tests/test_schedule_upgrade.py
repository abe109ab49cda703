"""Upgrading keeps every rotation answering as it did (issue 35): a database made by the previous release (the
commit before this issue's schedule tables), its rotations' answers for 8 weeks read by that release, then the
same database upgraded and read by this version — every answer the same (SPEC § Schedules: the seeds' shape is
the default, so a team that sets nothing sees nothing change)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
from io import BytesIO
from pathlib import Path

from tests.conftest import cannot_run

PREVIOUS = "6506bee"  # the last commit before migration 0027 (escalation policies, shift changes, layers, time off)
ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "tests" / "upgrade" / "answers.py"


def previous_release(into: Path) -> Path:
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", PREVIOUS, "bot"], capture_output=True)
    if archive.returncode != 0:
        cannot_run(f"git cannot give the previous release ({PREVIOUS}): {archive.stderr.decode()[:200]}")
    with tarfile.open(fileobj=BytesIO(archive.stdout)) as tar:
        tar.extractall(into, filter="data")
    return into


def run(code: Path, *args: str) -> str:
    env = {**{k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DATABASE_"))},
           "PYTHONPATH": str(code)}
    done = subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, env=env,
                          cwd=str(code), timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_eight_weeks_of_answers_are_the_same_after_the_upgrade(tmp_path):
    old = previous_release(tmp_path / "previous")
    url = f"sqlite:///{tmp_path / 'team.db'}"
    run(old, "seed", url)
    before = json.loads(run(old, "answers", url))
    after = json.loads(run(ROOT, "answers", url))  # this version upgrades the database as it starts
    assert len(before) > 3 * 8 * 7 * 8 and before == after
