"""README's "API" section runs as it is written: each `sh` block, with only its first line's placeholders
(FIREFIGHTER_URL, TOKEN) set to a running bot and a real token, goes through bash and curl; every request must
succeed (`--fail-with-body`) and leave what the README says it does. So the examples stay true."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
from pathlib import Path

import pytest
from sqlmodel import select

from bot.db.edge_models import MaintenanceWindow
from bot.db.models import Incident, RotationOverride
from bot.db.schedule_models import TimeOff
from tests.api_client import ADMIN, new_token
from tests.test_paging import with_rotation

README = Path(__file__).resolve().parent.parent / "README.md"


def api_examples() -> list[str]:
    text = README.read_text(encoding="utf-8")
    section = text.split("\n## API\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.*?)```", section, flags=re.S)


async def run_block(block: str, url: str, token: str, where: Path) -> tuple[int, str]:
    lines = block.splitlines()
    assert lines[0].startswith("export FIREFIGHTER_URL=") and "TOKEN=" in lines[0], lines[0]
    script = "set -euo pipefail\n" + "\n".join(lines[1:] if len(lines) > 1 else [])
    process = await asyncio.create_subprocess_exec(
        "bash", "-c", script, cwd=where, env={**os.environ, "FIREFIGHTER_URL": url, "TOKEN": token},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    output, _ = await asyncio.wait_for(process.communicate(), 60)
    return process.returncode, output.decode()


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
async def test_the_readme_api_examples_run_as_written(make_bot, tmp_path, request):
    if "postgresql" in request.node.name:
        pytest.skip("the examples are about the API, not the database")
    bot = await make_bot(admins=ADMIN)
    bot.fake.add_user(ADMIN)
    await with_rotation(bot)
    blocks = api_examples()
    assert len(blocks) == 2
    token = await new_token(bot, "ci", "admin")
    auth_line = 'auth="Authorization: Bearer $TOKEN"'
    first, second = blocks
    code, output = await run_block(first, bot.url, token, tmp_path)
    assert code == 0, output
    await bot.settle()
    (incident,) = bot.incidents()
    assert incident.number == 1 and incident.status.value == "resolved" and incident.acknowledged_at
    assert '"rotation":"payments"' in output and '"next_cursor":null' in output
    code, output = await run_block(f"export FIREFIGHTER_URL= TOKEN=\n{auth_line}\n{second}", bot.url, token,
                                   tmp_path)
    assert code == 0, output
    assert '"applied":false' in output and (tmp_path / "config.json").exists()
    with bot.session() as session:
        assert [o.user_id for o in session.exec(select(RotationOverride))] == ["U0A"]
        assert [t.user_id for t in session.exec(select(TimeOff))] == ["U0B"]
        assert [w.matchers for w in session.exec(select(MaintenanceWindow))] == ["env=staging"]
        assert len(session.exec(select(Incident)).all()) == 1
