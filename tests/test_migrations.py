"""Schema changes ship as Alembic migrations; upgrading keeps every row; the models match the migrations."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlmodel import Session, SQLModel, select

from bot.db.engine import make_engine
from bot.db.models import Incident, TimelineEvent
from bot.db.schema import upgrade_to_head


def test_upgrade_creates_the_tables_and_the_models_match(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'ff.db'}")
    upgrade_to_head(engine)
    assert {"incident", "timeline_event", "rotation", "alembic_version"} <= set(sa.inspect(engine).get_table_names())
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
    assert diff == [], "models changed without a migration: run `alembic revision --autogenerate`"


def test_upgrading_again_keeps_every_row_and_timestamps_come_back_aware(tmp_path):
    url = f"sqlite:///{tmp_path / 'ff.db'}"
    engine = make_engine(url)
    upgrade_to_head(engine)
    at = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)
    with Session(engine) as session:
        incident = Incident(number=1, title="Kept", priority="P1", reporter_id="U1", created_at=at, updated_at=at)
        session.add(incident)
        session.flush()
        session.add(TimelineEvent(incident_id=incident.id, at=at, kind="declared", text="x"))
        session.commit()
    engine.dispose()
    again = make_engine(url)
    upgrade_to_head(again)
    with Session(again) as session:
        stored = session.exec(select(Incident)).one()
        assert stored.title == "Kept" and stored.created_at == at and stored.created_at.tzinfo is not None
        assert len(session.exec(select(TimelineEvent)).all()) == 1


def test_naive_datetimes_are_refused(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'ff.db'}")
    upgrade_to_head(engine)
    with Session(engine) as session:
        naive = datetime(2026, 1, 1)
        session.add(Incident(number=1, title="x", priority="P1", reporter_id="U1", created_at=naive, updated_at=naive))
        try:
            session.commit()
        except sa.exc.StatementError as exc:
            assert "naive" in str(exc)
        else:
            raise AssertionError("a naive datetime was stored")


def test_upgrading_from_0001_keeps_incidents_and_fills_the_new_columns(tmp_path):
    from alembic import command

    from bot.db.schema import alembic_config
    url = f"sqlite:///{tmp_path / 'ff.db'}"
    engine = make_engine(url)
    with engine.begin() as connection:
        config = alembic_config(url)
        config.attributes["connection"] = connection
        command.upgrade(config, "0001")
        connection.execute(sa.text(
            "INSERT INTO incident (number, title, description, priority, status, impacts, reporter_id, "
            "slack_steps_done, created_at, updated_at) VALUES (7, 'Old one', '', 'P0', 'resolved', '', 'U1', 'done', "
            "'2026-01-01 10:00:00', '2026-01-01 11:00:00')"))
    upgrade_to_head(engine)
    with Session(engine) as session:
        old = session.exec(select(Incident)).one()
        assert (old.number, old.title, old.status) == (7, "Old one", "resolved")
        assert (old.reopen_count, old.resolution, old.postmortem, old.duplicate_of) == (0, "", "", None)
        assert old.created_at == datetime(2026, 1, 1, 10, 0, tzinfo=UTC)


def test_the_migrations_are_found_inside_the_installed_package():
    """Through importlib.resources, not beside the source tree; and pyproject ships every file they need."""
    import tomllib
    from fnmatch import fnmatch
    from importlib.resources import files
    from pathlib import Path

    from alembic.script import ScriptDirectory

    import bot
    from bot.db.schema import MIGRATIONS_DIR, alembic_config, head_revision

    package = Path(bot.__file__).resolve().parent
    assert Path(str(MIGRATIONS_DIR)).resolve() == Path(str(files("bot") / "migrations")).resolve() \
        == package / "migrations"
    scripts = ScriptDirectory.from_config(alembic_config("sqlite://"))
    assert Path(scripts.dir).resolve() == package / "migrations"
    shipped = sorted(p.name for p in (package / "migrations" / "versions").glob("*.py"))
    assert [s.revision for s in scripts.walk_revisions("base", "heads")][::-1] == [n[:4] for n in shipped]
    assert head_revision() == shipped[-1][:4]
    pyproject = tomllib.loads((package.parent / "pyproject.toml").read_text())
    patterns = pyproject["tool"]["setuptools"]["package-data"]["bot"]
    needed = [p.relative_to(package).as_posix() for p in (package / "migrations").rglob("*")
              if p.is_file() and "__pycache__" not in p.parts]
    assert "migrations/env.py" in needed and "migrations/script.py.mako" in needed
    assert [f for f in needed if not any(fnmatch(f, pattern) for pattern in patterns)] == []


def test_a_wheel_of_the_bot_migrates_without_the_source_tree(tmp_path):
    """`pip install .` (not editable): the wheel alone, unpacked away from the repository, migrates a database."""
    import shutil
    import subprocess
    import sys
    import zipfile
    from pathlib import Path

    from bot.db.schema import head_revision

    root = Path(__file__).resolve().parents[1]
    source = tmp_path / "source"
    shutil.copytree(root / "bot", source / "bot", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(root / name, source / name)
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(tmp_path / "dist"),
                            str(source)], capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stderr[-2000:]
    (wheel,) = (tmp_path / "dist").glob("firefighter-*.whl")
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    shutil.rmtree(source)  # nothing of the source tree is left to fall back on
    run_dir = tmp_path / "elsewhere"
    run_dir.mkdir()
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(site), "DATABASE_URL": f"sqlite:///{tmp_path / 'ff.db'}"}
    found = subprocess.run([sys.executable, "-c", "import bot; print(bot.__file__)"], cwd=run_dir, env=env,
                           capture_output=True, text=True, timeout=60)
    assert found.stdout.strip() == str(site / "bot" / "__init__.py"), found.stderr
    migrated = subprocess.run([sys.executable, "-m", "bot", "migrate"], cwd=run_dir, env=env, capture_output=True,
                              text=True, timeout=60)
    assert migrated.returncode == 0, migrated.stderr
    assert migrated.stdout.strip().endswith(f"migrated from an empty database to {head_revision()} (the newest)")
    engine = make_engine(f"sqlite:///{tmp_path / 'ff.db'}")
    assert {"incident", "rotation", "alembic_version"} <= set(sa.inspect(engine).get_table_names())
    engine.dispose()
