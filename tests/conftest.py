from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from hypothesis import settings

from aidc.cli import main

# Property tests draw the same examples on every run, so CI passes or fails on the code,
# not on the draw; `pytest --hypothesis-profile=explore` searches afresh.
settings.register_profile("ci", derandomize=True, deadline=None)
settings.register_profile("explore", deadline=None, max_examples=500)
settings.load_profile("ci")

MINIMAL = """
name: minimal
workloads:
  inference:
    - name: qa
      model: bert-base
      task: qa
      traffic: {peak_rps: 50, input_tokens: {mean: 128}}
      slo: {p99_latency_ms: 100}
"""


@pytest.fixture
def write(tmp_path: Path):
    def _write(text: str, name: str = "scenario.yaml") -> Path:
        p = tmp_path / name
        p.write_text(textwrap.dedent(text), encoding="utf-8")
        return p

    return _write


@pytest.fixture
def run_cli(capsys):
    """Run the CLI in-process; return (exit code, stdout, stderr)."""

    def _run(*args: str) -> tuple[int, str, str]:
        code = main(list(args))
        out, err = capsys.readouterr()
        return code, out, err

    return _run
