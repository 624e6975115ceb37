"""The words match the code: what README.md, profiles.yml and --help say exists does."""

from __future__ import annotations

import re
from itertools import takewhile
from pathlib import Path

import typer

from lazi.cli import app
from lazi.config import PROJECT_ROOT
from tests.foundation.test_cli import run_lazi


def commands() -> set[str]:
    return set(typer.main.get_command(app).commands)  # type: ignore[attr-defined]


def test_readme_command_table_lists_every_command_in_one_table() -> None:
    lines = (PROJECT_ROOT / "README.md").read_text().splitlines()
    start = lines.index("| command | what it does |")
    table = list(takewhile(lambda line: line.startswith("|"), lines[start:]))
    listed = {m.group(1) for line in table if (m := re.match(r"\| `lazi ([a-z-]+)", line))}
    assert listed == commands()


def test_profiles_names_only_commands_that_exist() -> None:
    named = set(re.findall(r"`lazi ([a-z-]+)", (PROJECT_ROOT / "profiles.yml").read_text()))
    assert named and named <= commands()


def test_run_help_names_the_steps_the_flow_runs() -> None:
    """The help names load, transform and push; the flow runs each (its summary has a line for
    the push: tests/foundation/test_cli.py)."""
    from flows import elt

    result = run_lazi("run", "--help")
    assert result.returncode == 0
    assert all(step in result.stdout for step in ("load", "transform", "push"))
    flow_source = Path(elt.__file__).read_text()
    assert all(step in flow_source for step in ("load_vendor", "dbt_build", "push_targets"))
