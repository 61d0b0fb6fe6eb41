"""``aidc schema`` and ``aidc validate-scenario``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from aidc.catalog.loader import load_catalog
from aidc.catalog.resolve import resolve_scenario_models
from aidc.cli import app
from aidc.cli.common import console
from aidc.spec.load import default_scenario_text, load_scenario
from aidc.spec.scenario import Scenario


@app.command("schema")
def schema_command() -> None:
    """Print the JSON Schema of scenario files (for editor autocompletion)."""
    print(json.dumps(Scenario.model_json_schema(), indent=2))


@app.command("validate-scenario")
def validate_scenario_command(
    path: Annotated[Path, typer.Argument(help="scenario YAML or JSON file")],
) -> None:
    """Check a scenario file: syntax, fields, values, and that every model resolves."""
    sc = load_scenario(path)
    models = resolve_scenario_models(sc, load_catalog(), path.parent)
    n_t, n_i = len(sc.workloads.training), len(sc.workloads.inference)
    console.print(
        f"[green]ok[/green] {path}: scenario {sc.name!r}, {n_t} training and {n_i} inference "
        f"workloads; models: {', '.join(sorted({m.id for m in models.values()}))}"
    )


@app.command("default-scenario")
def default_scenario_command() -> None:
    """Print the built-in default scenario (a starting point for your own)."""
    print(default_scenario_text(), end="")
