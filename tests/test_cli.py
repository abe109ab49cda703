"""`python -m bot migrate` and `python -m bot check`, run as an operator runs them: real processes, settings from the
environment or `.env`, the fake Slack answering auth.test with the scopes it grants."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import sqlalchemy as sa
import yaml

from bot.db.schema import head_revision
from bot.runtime.check import REQUIRED_SCOPES
from tests.conftest import SECRET, TOKEN
from tests.fake_slack import BOT_SCOPES
from tests.test_process import bot_env, free_port

ROOT = Path(__file__).resolve().parents[1]


async def run(cwd: Path, *args: str, **env: str) -> tuple[int, list[str], list[str]]:
    process = await asyncio.create_subprocess_exec(sys.executable, *args, cwd=cwd, env=bot_env(**env),
                                                   stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    stdout, stderr = await asyncio.wait_for(process.communicate(), 60)
    return process.returncode, stdout.decode().splitlines(), stderr.decode().splitlines()


def revision(url: str) -> str | None:
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        with engine.connect() as connection:
            if not sa.inspect(connection).has_table("alembic_version"):
                return None
            return connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
    finally:
        engine.dispose()


def test_the_scopes_checked_are_the_ones_manifest_yml_asks_for():
    manifest = yaml.safe_load((ROOT / "manifest.yml").read_text())
    assert set(manifest["oauth_config"]["scopes"]["bot"]) == REQUIRED_SCOPES == set(BOT_SCOPES)


async def test_migrate_reads_dotenv_needs_no_slack_settings_and_keeps_rows(tmp_path):
    (tmp_path / ".env").write_text("DATABASE_URL=sqlite:///from-dotenv.db\n")
    url = f"sqlite:///{tmp_path / 'from-dotenv.db'}"
    code, out, err = await run(tmp_path, "-m", "bot", "migrate")
    assert (code, err) == (0, [])
    assert out == [f"sqlite:///from-dotenv.db: migrated from an empty database to {head_revision()} (the newest)"]
    assert revision(url) == head_revision()
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.execute(sa.text("INSERT INTO rotation (name, channel_id, created_by, created_at) "
                                   "VALUES ('infra', 'C1', 'U1', '2026-01-01 10:00:00')"))
    code, out, _ = await run(tmp_path, "-m", "bot", "migrate")
    assert (code, out) == (0, [f"sqlite:///from-dotenv.db: already at the newest schema ({head_revision()})"])
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT name FROM rotation")).scalars().all() == ["infra"]
    engine.dispose()


async def test_migrate_on_a_database_it_cannot_use_is_one_line_and_exit_2(tmp_path):
    code, out, err = await run(tmp_path, "-m", "bot", "migrate", DATABASE_URL="postgresql://u:pw@127.0.0.1:1/x")
    assert code == 2 and out == [] and len(err) == 1
    assert err[0].startswith("firefighter: setting DATABASE_URL: cannot use postgresql://u:***@127.0.0.1:1/x:")


async def test_the_alembic_command_line_reads_dotenv_too(tmp_path):
    (tmp_path / ".env").write_text("DATABASE_URL=sqlite:///by-alembic.db\n")
    code, _, err = await run(tmp_path, "-m", "alembic", "-c", str(ROOT / "alembic.ini"), "upgrade", "head")
    assert code == 0, err
    assert revision(f"sqlite:///{tmp_path / 'by-alembic.db'}") == head_revision()
    assert not (tmp_path / "firefighter.db").exists()


async def test_check_says_what_is_ready_and_what_is_not(tmp_path, fake_slack, database_url):
    env = {"SLACK_BOT_TOKEN": TOKEN, "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": fake_slack.api_url,
           "DATABASE_URL": database_url}
    code, out, _ = await run(tmp_path, "-m", "bot", "migrate", **env)
    assert code == 0, out
    code, out, err = await run(tmp_path, "-m", "bot", "check", **env)
    assert (code, err) == (0, []), out
    assert [line.split(":")[0] for line in out] == ["✓ settings", "✓ database", "✓ Slack", "✓ scopes"]
    assert out[1].endswith(f"answers, schema at the newest migration ({head_revision()})")
    assert out[2] == f"✓ Slack: auth.test at {fake_slack.api_url}: @firefighter in Fake (T111)"
    assert fake_slack.calls_to("auth.test")

    fake_slack.scopes.remove("pins:write")
    fake_slack.scopes.remove("chat:write.public")
    providers = {"NOTIFY_PUSH_URL": "ntfys://ntfy.example.com/{to}", "NOTIFY_SMS_URL": "nosuchscheme://x/{to}"}
    code, out, _ = await run(tmp_path, "-m", "bot", "check", **env, **providers)
    assert code == 1
    assert out[3] == "✗ scopes: the token lacks chat:write.public, pins:write: add them to the app (OAuth & " \
                     "Permissions, or paste manifest.yml again) and reinstall it to the workspace"
    assert out[-2:] == [
        "✗ sms provider: NOTIFY_SMS_URL (nosuchscheme://…) is not a URL Apprise can use with a sms address in `{to}`: "
        "see https://github.com/caronc/apprise/wiki",
        "✓ push provider: NOTIFY_PUSH_URL (ntfys://…) is a URL Apprise can send with (nothing sent; `/incident me "
        "contact test push` tries it for real)"], out

    code, out, _ = await run(tmp_path, "-m", "bot", "check", **{**env, "SLACK_BOT_TOKEN": "xoxp-not-a-bot-token"})
    assert code == 1 and len(out) == 3
    assert out[2] == f"✗ Slack: auth.test at {fake_slack.api_url} refused SLACK_BOT_TOKEN: invalid_auth"


async def test_check_tries_the_sign_in_credentials(tmp_path, fake_slack):
    env = {"SLACK_BOT_TOKEN": TOKEN, "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": fake_slack.api_url,
           "DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}", "SLACK_CLIENT_ID": fake_slack.client_id,
           "SLACK_CLIENT_SECRET": fake_slack.client_secret, "PUBLIC_URL": "https://ff.example.com"}
    await run(tmp_path, "-m", "bot", "migrate", **env)
    code, out, _ = await run(tmp_path, "-m", "bot", "check", **env)
    assert code == 0 and out[-1] == ("✓ Sign in with Slack: client A0FAKE.CLIENT accepted; people come back to "
                                     "https://ff.example.com/auth/slack/callback (add it to the app's redirect URLs)")
    code, out, _ = await run(tmp_path, "-m", "bot", "check", **{**env, "SLACK_CLIENT_SECRET": "wrong"})
    assert code == 1 and out[-1] == "✗ Sign in with Slack: Slack refused SLACK_CLIENT_ID/SLACK_CLIENT_SECRET: " \
                                    "bad_client_secret"
    code, out, _ = await run(tmp_path, "-m", "bot", "check", **{k: v for k, v in env.items()
                                                                if k != "SLACK_CLIENT_SECRET"})
    assert code == 1 and "SLACK_CLIENT_SECRET is required with SLACK_CLIENT_ID" in out[0]


async def test_check_with_bad_settings_and_no_database_yet_fails_and_creates_nothing(tmp_path, fake_slack):
    (tmp_path / ".env").write_text("SLACK_BOT_TOKEN=xoxb-1\nSLACK_SIGNNG_SECRET=s\n")
    code, out, err = await run(tmp_path, "-m", "bot", "check", SLACK_API_URL=fake_slack.api_url)
    assert code == 1 and err == []
    assert out == [
        "✗ settings: settings: SLACK_SIGNING_SECRET is required in HTTP mode (or set SLACK_APP_TOKEN for Socket Mode)",
        "⚠ settings: SLACK_SIGNNG_SECRET (in .env) is not a setting; did you mean SLACK_SIGNING_SECRET?",
        f"✗ database: sqlite:///firefighter.db: the file {tmp_path.resolve() / 'firefighter.db'} does not exist yet; "
        "`python -m bot migrate` (or starting the bot) creates it",
        "✗ Slack: not checked: the settings are not valid",
    ]
    assert not (tmp_path / "firefighter.db").exists() and not fake_slack.calls


async def test_check_finds_a_database_behind_the_newest_migration(tmp_path, fake_slack):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    code, _, err = await run(tmp_path, "-m", "alembic", "-c", str(ROOT / "alembic.ini"), "upgrade", "0012",
                             DATABASE_URL=url)
    assert code == 0, err
    code, out, _ = await run(tmp_path, "-m", "bot", "check", SLACK_BOT_TOKEN=TOKEN, SLACK_APP_TOKEN="xapp-1",
                             SLACK_API_URL=fake_slack.api_url, DATABASE_URL=url)
    assert code == 1
    assert out[1] == f"✗ database: {url} answers but is at migration 0012; the newest is {head_revision()}: run " \
                     "`python -m bot migrate` (the bot also migrates when it starts)"
    assert out[0] == "✓ settings: valid (Socket Mode)"
    assert out[-1] == "✓ Socket Mode: SLACK_APP_TOKEN opens a connection"


async def test_a_schema_from_a_newer_version_is_refused_by_migrate_check_and_start_up_in_one_line(tmp_path):
    url = f"sqlite:///{tmp_path / 'newer.db'}"
    code, _, err = await run(tmp_path, "-m", "bot", "migrate", DATABASE_URL=url)
    assert code == 0, err
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.execute(sa.text("UPDATE alembic_version SET version_num = '9999_from_the_future'"))
    engine.dispose()
    expected = (f"setting DATABASE_URL: {url} is at schema '9999_from_the_future', which this version of the bot does "
                f"not know (its newest is '{head_revision()}')")
    for command in (["migrate"], []):
        code, out, err = await run(tmp_path, "-m", "bot", *command, DATABASE_URL=url, SLACK_BOT_TOKEN=TOKEN,
                                   SLACK_SIGNING_SECRET=SECRET, PORT=str(free_port()))
        assert (code, out, len(err)) == (2, [], 1), err
        assert err[0].startswith(f"firefighter: {expected}")
    code, out, _ = await run(tmp_path, "-m", "bot", "check", DATABASE_URL=url, SLACK_BOT_TOKEN=TOKEN,
                             SLACK_SIGNING_SECRET=SECRET, SLACK_API_URL="http://127.0.0.1:1/api/")
    assert code == 1 and out[1].startswith(f"✗ database: {url} is at schema '9999_from_the_future'")
    assert revision(url) == "9999_from_the_future"  # nothing was changed


# Start-up checks and migrates the schema in a forked child (bot/db/schema_apart.py): Alembic, Mako and every
# migration would otherwise stay loaded in the serving process, ~9 MB of SPEC § 7's 120 MB at rest.
ALEMBIC_LOADED = ("import sys; from bot.db.schema_apart import prepare_apart; import bot.__main__, bot.runtime.wiring; "
                  "prepare_apart(sys.argv[1]); "
                  "print(sorted({m.split('.')[0] for m in sys.modules} & {'alembic', 'mako', 'pygments'}))")


async def test_start_up_migrates_in_a_child_and_the_serving_process_never_loads_alembic(tmp_path):
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    code, out, err = await run(tmp_path, "-c", ALEMBIC_LOADED, url)
    assert (code, out) == (0, ["[]"]), err
    assert revision(url) == head_revision()


async def test_a_migration_that_fails_at_start_up_is_one_line_and_exit_1(tmp_path):
    url = f"sqlite:///{tmp_path / 'squatted.db'}"
    engine = sa.create_engine(url)
    with engine.begin() as connection:  # a table of the first migration's, there before it: its CREATE fails
        connection.execute(sa.text("CREATE TABLE rotation (x INTEGER)"))
    engine.dispose()
    code, out, err = await run(tmp_path, "-m", "bot", DATABASE_URL=url, SLACK_BOT_TOKEN=TOKEN,
                               SLACK_SIGNING_SECRET=SECRET, PORT=str(free_port()))
    assert (code, out, len(err)) == (1, [], 1), err
    assert err[0].startswith("firefighter: cannot start: OperationalError: (sqlite3.OperationalError) table rotation "
                             "already exists")
    assert revision(url) is None  # the failed upgrade left nothing behind
