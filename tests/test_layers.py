"""What may import what (docs/architecture.md), checked on the source: a rule a reader relies on to find their way
is one a change must not quietly break."""

from __future__ import annotations

import ast
from pathlib import Path

BOT = Path(__file__).resolve().parents[1] / "bot"


def imports(folder: str) -> list[tuple[str, str]]:
    """(file, module) for every `import`/`from … import` of ours in bot/<folder>/, nested ones included."""
    found = []
    for path in sorted((BOT / folder).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("bot"):
                found += [(path.name, node.module)] + [(path.name, f"{node.module}.{a.name}") for a in node.names]
            elif isinstance(node, ast.Import):
                found += [(path.name, a.name) for a in node.names if a.name.startswith("bot")]
    return found


def test_delivery_never_imports_the_services():
    assert [(f, m) for f, m in imports("delivery") if m.startswith("bot.services")] == []


def test_the_services_import_of_delivery_only_its_vocabulary_and_the_outbox_its_engine():
    allowed = {"bot.delivery.kinds", "bot.delivery"}  # (`from bot.delivery import kinds` names the package)
    found = [(f, m) for f, m in imports("services") if m.startswith("bot.delivery")
             and not m.startswith("bot.delivery.kinds") and m not in allowed
             and not (f == "outbox.py" and m.startswith("bot.delivery.engine"))]
    assert found == []


def test_the_domain_imports_nothing_of_ours_but_itself_and_slack_text():
    found = [(f, m) for f, m in imports("domain")
             if not m.startswith(("bot.domain", "bot.slack.text"))]
    assert found == []


def test_nothing_at_the_top_of_bot_but_main_config_and_clock():
    assert sorted(p.name for p in BOT.glob("*.py")) == ["__init__.py", "__main__.py", "clock.py", "config.py"]


def test_no_module_is_over_450_lines():
    long = [(str(p.relative_to(BOT)), n) for p in BOT.rglob("*.py") if "migrations" not in p.parts
            and (n := len(p.read_text().splitlines())) > 450]
    assert long == []
