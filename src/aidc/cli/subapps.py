"""Command groups shared by several modules: ``aidc estimate ...`` and ``aidc validate ...``.

Each command lives in its own module (``estimate_training.py``, ``estimate_inference.py``,
``validate_training.py``…) and registers itself on these groups when imported.
"""

from __future__ import annotations

import typer

from aidc.cli import app

estimate_app = typer.Typer(
    help="Estimate one workload on one hardware configuration.", no_args_is_help=True
)
validate_app = typer.Typer(
    help="Score aidc's models against published or measured results (CSV).", no_args_is_help=True
)
app.add_typer(estimate_app, name="estimate")
app.add_typer(validate_app, name="validate")
