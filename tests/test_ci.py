"""CI cannot pass with part of the suite unrun: `.ci/run` sets CI and stops when it cannot install what the suite
needs, and a test whose prerequisite is missing fails under CI instead of skipping."""

from __future__ import annotations

import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.conftest import cannot_run
from tests.test_manifest import SCHEMAS

ROOT = Path(__file__).resolve().parents[1]


def test_a_missing_prerequisite_skips_on_a_developers_machine_and_fails_in_ci(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="Chromium is not installed"):
        cannot_run("Chromium is not installed")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI must run this test, but Chromium is not installed"):
        cannot_run("Chromium is not installed")


def test_the_manifest_schema_is_part_of_the_repository():
    assert {p.name for p in SCHEMAS.iterdir()} >= {"manifest.schema.json", "schemas_manifest.schema.1.0.0.json",
                                                   "schemas_manifest.schema.2.0.0.json"}


def _ci(tmp_path: Path, *, apt_works: bool, chromium: bool,
        alertmanager: bool = True) -> tuple[subprocess.CompletedProcess, Path]:
    """Runs a copy of .ci/run with only fakes on PATH: apt-get (installs chromium and prometheus-alertmanager, or
    fails), make (writes down the CI it saw), initdb, chromium when `chromium`, and prometheus-alertmanager when
    `alertmanager`."""
    repo, tools = tmp_path / "repo", tmp_path / "bin"
    (repo / ".ci").mkdir(parents=True)
    tools.mkdir()
    shutil.copy(ROOT / ".ci" / "run", repo / ".ci" / "run")
    seen = tmp_path / "make-saw"
    fakes = {"make": f'echo "CI=$CI" > {seen}; echo "PIP_CONSTRAINT=$PIP_CONSTRAINT" >> {seen}', "initdb": "exit 0",
             "apt-get": "".join(f'[ "$1" = install ] && printf "#!/bin/sh\\n" > {tools}/{name} && chmod +x '
                                f"{tools}/{name}; " for name in ("chromium", "prometheus-alertmanager"))
             + "exit 0" if apt_works else "exit 100"}
    if chromium:
        fakes["chromium"] = "exit 0"
    if alertmanager:
        fakes["prometheus-alertmanager"] = "exit 0"
    for name, body in fakes.items():
        (tools / name).write_text(f"#!/bin/sh\n{body}\n")
        (tools / name).chmod(0o755)
    for real in ("dirname", "ls", "chmod", "printf"):  # what the script and the fakes call besides them
        if not (tools / real).exists():
            (tools / real).symlink_to(shutil.which(real))
    env = {"PATH": str(tools), "HOME": str(tmp_path)}
    run = subprocess.run([shutil.which("bash"), str(repo / ".ci" / "run")], env=env, capture_output=True,
                         text=True, timeout=30)
    return run, seen


def test_ci_sets_ci_for_the_suite(tmp_path):
    run, seen = _ci(tmp_path, apt_works=True, chromium=True)
    assert run.returncode == 0, run.stderr
    assert seen.read_text().splitlines() == ["CI=true", f"PIP_CONSTRAINT={tmp_path / 'repo' / 'constraints.txt'}"]


def test_ci_installs_chromium_when_it_is_missing(tmp_path):
    run, seen = _ci(tmp_path, apt_works=True, chromium=False)
    assert run.returncode == 0, run.stderr
    assert seen.read_text().splitlines()[0] == "CI=true"


def test_ci_installs_alertmanager_when_it_is_missing_and_stops_when_it_cannot(tmp_path):
    run, seen = _ci(tmp_path / "works", apt_works=True, chromium=True, alertmanager=False)
    assert run.returncode == 0, run.stderr
    run, seen = _ci(tmp_path / "fails", apt_works=False, chromium=True, alertmanager=False)
    assert run.returncode != 0 and "could not install prometheus-alertmanager" in run.stderr
    assert not seen.exists()  # the suite never ran without the real Alertmanager's test


def test_ci_stops_when_chromium_cannot_be_installed(tmp_path):
    run, seen = _ci(tmp_path, apt_works=False, chromium=False)
    assert run.returncode != 0
    assert "could not install chromium" in run.stderr
    assert not seen.exists()  # the suite never ran without its browser test


def test_constraints_pin_every_dependency_inside_the_range_pyproject_allows():
    pinned = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            name, version = re.fullmatch(r"([A-Za-z0-9_.-]+)==(\S+)", line).groups()
            pinned[canonicalize_name(name)] = version
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = [Requirement(text) for text in project["dependencies"] + project["optional-dependencies"]["test"]]
    assert len(wanted) > 10
    for requirement in wanted:
        version = pinned.get(canonicalize_name(requirement.name))
        assert version, f"{requirement.name} is not pinned in constraints.txt: run `make lock`"
        assert requirement.specifier.contains(version), f"constraints.txt pins {requirement.name}=={version}, " \
                                                        f"outside {requirement.specifier}: run `make lock`"
