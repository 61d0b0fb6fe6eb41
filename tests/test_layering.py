"""The pure core (model/, search/, decide/, planner/) imports no CLI, report, bench or I/O."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "aidc"
PURE = ["model", "search", "decide", "planner"]
FORBIDDEN_MODULES = (
    "aidc.cli",
    "aidc.report",
    "aidc.bench",
    "aidc.calibrate",
    "aidc.fileio",
    "rich",
    "typer",
    "torch",
    "onnxruntime",
    "logging",
    "time",
    "datetime",
)
FORBIDDEN_CALLS = {"open", "print", "input"}


def _imports(tree: ast.AST) -> list[str]:
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            out.append(node.module)
    return out


def test_pure_core_has_no_forbidden_imports_or_io():
    offenders = []
    files = [f for pkg in PURE for f in (SRC / pkg).rglob("*.py")]
    assert files, "no core files found"
    for f in files:
        tree = ast.parse(f.read_text())
        for mod in _imports(tree):
            if any(mod == bad or mod.startswith(bad + ".") for bad in FORBIDDEN_MODULES):
                offenders.append(f"{f.relative_to(SRC)} imports {mod}")
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in FORBIDDEN_CALLS
            ):
                offenders.append(f"{f.relative_to(SRC)} calls {node.func.id}()")
    assert not offenders, "\n".join(offenders)


def test_no_magic_unit_constants_outside_units():
    """1e9 and 2**30 live in units.py (and catalog unit parsing), nowhere else."""
    offenders = []
    for f in SRC.rglob("*.py"):
        # units.py defines them; units_in_names.py converts data files; scenario.py uses
        # 1e9/1e12 only as sanity bounds on user input, not as conversions.
        if f.name in {"units.py", "units_in_names.py", "scenario.py"}:
            continue
        tree = ast.parse(f.read_text())
        for node in ast.walk(tree):
            is_number = isinstance(node, ast.Constant) and type(node.value) in (int, float)
            if is_number and node.value in (1e9, 1e12, 2**30, 2**40):
                offenders.append(f"{f.relative_to(SRC)}:{node.lineno} {node.value}")
            is_pow = isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow)
            if (
                is_pow
                and isinstance(node.left, ast.Constant)
                and node.left.value == 2
                and isinstance(node.right, ast.Constant)
                and node.right.value in (30, 40)
            ):
                offenders.append(f"{f.relative_to(SRC)}:{node.lineno} 2**{node.right.value}")
    assert not offenders, "\n".join(offenders)
