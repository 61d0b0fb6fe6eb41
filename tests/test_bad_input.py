"""Bad input never shows a traceback: one line naming the field, non-zero exit."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import MINIMAL


def _assert_one_line_error(code: int, err: str, *needles: str) -> None:
    assert code != 0
    lines = [ln for ln in err.strip().splitlines() if ln.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    for n in needles:
        assert n.lower() in lines[0].lower(), (n, lines[0])


def _variant(old: str, new: str) -> str:
    assert old in MINIMAL
    return MINIMAL.replace(old, new)


CASES = [
    ("malformed yaml", "name: [unclosed\n", ["not valid YAML", "line"]),
    ("wrong type", _variant("peak_rps: 50", "peak_rps: lots"), ["peak_rps", "number"]),
    ("negative number", _variant("peak_rps: 50", "peak_rps: -5"), ["peak_rps", "greater than 0"]),
    (
        "absurd number",
        _variant("peak_rps: 50", "peak_rps: 1e12"),
        ["peak_rps", "less than or equal"],
    ),
    (
        "unknown model",
        _variant("model: bert-base", "model: bert-bsae"),
        ["model", "did you mean", "bert-base"],
    ),
    (
        "unknown field",
        _variant("task: qa", "task: qa\n      colour: red"),
        ["colour", "unknown field"],
    ),
    ("bad literal", _variant("task: qa", "task: translate"), ["task", "generation"]),
    ("generation needs output", _variant("task: qa", "task: generation"), ["output_tokens"]),
    ("mean above peak", _variant("peak_rps: 50", "peak_rps: 50, mean_rps: 80"), ["mean_rps"]),
    ("top-level list", "- a\n- b\n", ["mapping"]),
    ("empty file", "", ["empty file"]),
    ("no workloads", "name: x\nworkloads: {}\n", ["workloads", "at least one"]),
    (
        "duplicate names",
        MINIMAL
        + "    - name: qa\n      model: bert-base\n      task: qa\n      traffic: {peak_rps: 5, input_tokens: {mean: 12}}\n      slo: {p99_latency_ms: 10}\n",
        ["unique", "qa"],
    ),
    (
        "unknown ensemble service",
        MINIMAL + "ensembles:\n  - {name: e, service: nope, k: 3}\n",
        ["ensemble", "nope"],
    ),
    (
        "unknown accelerator",
        MINIMAL + "constraints:\n  accelerators: [H100-SMX]\n",
        ["constraints.accelerators", "did you mean", "H100-SXM"],
    ),
    (
        "unknown vendor",
        MINIMAL + "constraints:\n  allowed_vendors: [Nvidea]\n",
        ["allowed_vendors", "nvidia"],
    ),
    ("bad preference", MINIMAL + "preferences:\n  performance: -1\n", ["performance"]),
    ("bad deployment", MINIMAL + "constraints:\n  deployment: moon\n", ["deployment", "on-prem"]),
    ("wrong schema version", "schema_version: 7\n" + MINIMAL, ["schema_version"]),
]


@pytest.mark.parametrize("label,text,needles", CASES, ids=[c[0] for c in CASES])
def test_bad_scenarios_give_one_line(label, text, needles, write, run_cli):
    p = write(text)
    code, _, err = run_cli("plan", str(p), "--quiet")
    _assert_one_line_error(code, err, *needles)


def test_missing_file(run_cli, tmp_path):
    code, _, err = run_cli("plan", str(tmp_path / "nope.yaml"))
    _assert_one_line_error(code, err, "file not found")


def test_directory_instead_of_file(run_cli, tmp_path):
    code, _, err = run_cli("validate-scenario", str(tmp_path))
    _assert_one_line_error(code, err, "directory")


def test_yaml_bomb(write, run_cli):
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
    for i in range(1, 9):
        prev = chr(ord("a") + i - 1)
        cur = chr(ord("a") + i)
        bomb += f"{cur}: &{cur} [" + ", ".join([f"*{prev}"] * 10) + "]\n"
    p = write(bomb)
    code, _, err = run_cli("plan", str(p))
    _assert_one_line_error(code, err, "aliases")


def test_huge_file(write, run_cli, tmp_path):
    p = tmp_path / "huge.yaml"
    p.write_text("name: x\ndescription: " + "y" * (5 * 2**20) + "\n")
    code, _, err = run_cli("plan", str(p))
    _assert_one_line_error(code, err, "larger than")


def test_binary_file(tmp_path, run_cli):
    p = tmp_path / "s.yaml"
    p.write_bytes(b"\xff\xfe\x00\x81binary")
    code, _, err = run_cli("plan", str(p))
    _assert_one_line_error(code, err, "UTF-8")


def test_unreadable_hf_config(write, run_cli, tmp_path):
    cfg = tmp_path / "config.json"
    cfg.write_text("{not json")
    p = write(MINIMAL.replace("model: bert-base", f"model: {cfg}"))
    code, _, err = run_cli("plan", str(p), "--quiet")
    _assert_one_line_error(code, err, "not valid JSON", "workloads.inference[0].model")


def test_hf_config_missing_fields(write, run_cli, tmp_path):
    cfg = tmp_path / "config.json"
    cfg.write_text(json.dumps({"model_type": "llama", "hidden_size": 4096}))
    p = write(MINIMAL.replace("model: bert-base", f"model: {cfg}"))
    code, _, err = run_cli("plan", str(p), "--quiet")
    _assert_one_line_error(code, err, "n_layers", "num_hidden_layers")


def test_hf_config_wrong_type(write, run_cli, tmp_path):
    cfg = tmp_path / "config.json"
    cfg.write_text(
        json.dumps(
            {
                "num_hidden_layers": "many",
                "hidden_size": 64,
                "num_attention_heads": 4,
                "vocab_size": 100,
            }
        )
    )
    p = write(MINIMAL.replace("model: bert-base", f"model: {cfg}"))
    code, _, err = run_cli("plan", str(p), "--quiet")
    _assert_one_line_error(code, err, "n_layers", "integer")


def test_out_refuses_to_overwrite(run_cli, tmp_path: Path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "plan.json").write_text("precious")
    code, _, err = run_cli("plan", "--quiet", "--out", str(out))
    _assert_one_line_error(code, err, "--force")
    assert (out / "plan.json").read_text() == "precious"


def test_unknown_catalog_kind(run_cli):
    code, _, err = run_cli("catalog", "list", "acelerators")
    _assert_one_line_error(code, err, "did you mean", "accelerators")


def test_unknown_catalog_name(run_cli):
    code, _, err = run_cli("catalog", "show", "H100-SMX")
    _assert_one_line_error(code, err, "did you mean", "H100-SXM")


def test_unknown_option(run_cli):
    code, _, err = run_cli("plan", "--colour")
    _assert_one_line_error(code, err, "--colour")


def test_bad_calibration_file(write, run_cli):
    cal = write("name: mine\nvalues: {training.matmul_efficiency: {value: high}}\n", "cal.yaml")
    code, _, err = run_cli("plan", "--quiet", "--calibration", str(cal))
    _assert_one_line_error(code, err, "value")
