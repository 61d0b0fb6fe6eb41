"""``aidc estimate training`` and ``aidc validate training``: output and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _one_line(code: int, err: str, *needles: str) -> None:
    assert code == 2, err
    lines = [ln for ln in err.strip().splitlines() if ln]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    for n in needles:
        assert n in err, (n, err)


def test_estimate_full_plan_json(run_cli):
    code, out, err = run_cli(
        "estimate",
        "training",
        "--model",
        "llama-3-70b",
        "--accelerator",
        "A100-80GB",
        "--devices",
        "64",
        "--tp",
        "8",
        "--pp",
        "1",
        "--dp",
        "8",
        "--micro-batch",
        "1",
        "--recompute",
        "full",
        "--zero",
        "1",
        "--tokens",
        "1e12",
        "--json",
    )
    assert code == 0, err
    doc = json.loads(out)
    assert doc["plans_evaluated"] == 1 and len(doc["plans"]) == 1
    p = doc["plans"][0]
    assert p["plan"]["tp"] * p["plan"]["pp"] * p["plan"]["dp"] * p["plan"]["cp"] == 64
    m = p["metrics"]
    assert 0 < m["mfu"] <= m["hfu"] < 1
    assert m["tokens_per_s"] == pytest.approx(64 * m["tokens_per_s_per_device"])
    assert m["time_to_train_s"] == pytest.approx(1e12 / m["tokens_per_s"])
    assert m["energy_kwh"] > 0 and m["device_hours"] > 0
    assert (
        m["tokens_per_s_per_device_low"]
        <= m["tokens_per_s_per_device"]
        <= m["tokens_per_s_per_device_high"]
    )
    mem = p["memory"]
    parts = sum(
        mem[k]
        for k in (
            "weights_bytes",
            "grads_bytes",
            "optimizer_bytes",
            "activations_bytes",
            "buffers_bytes",
        )
    )
    assert parts == pytest.approx(mem["total_bytes"])


def test_estimate_search_ranks_feasible_plans(run_cli):
    code, out, err = run_cli(
        "estimate",
        "training",
        "--model",
        "llama-3-8b",
        "--accelerator",
        "H100",
        "--devices",
        "16",
        "--json",
        "--top",
        "3",
    )
    assert code == 0, err
    doc = json.loads(out)
    assert doc["plans_evaluated"] > 50 and len(doc["plans"]) == 3
    tps = [p["metrics"]["tokens_per_s"] for p in doc["plans"]]
    assert tps == sorted(tps, reverse=True) and all(p["fits"] for p in doc["plans"])


def test_estimate_says_by_how_much_it_does_not_fit(run_cli):
    code, out, err = run_cli(
        "estimate",
        "training",
        "--model",
        "llama-3.1-405b",
        "--accelerator",
        "H100",
        "--devices",
        "8",
        "--tp",
        "8",
        "--pp",
        "1",
        "--dp",
        "1",
        "--micro-batch",
        "1",
        "--zero",
        "1",
        "--recompute",
        "full",
    )
    assert code == 0, err
    assert "does not fit by" in out and "GiB" in out


def test_estimate_terminal(run_cli):
    code, out, err = run_cli(
        "estimate", "training", "--model", "gpt2", "--accelerator", "A100", "--devices", "8"
    )
    assert code == 0, err
    assert "Best plan" in out and "kWh" in out


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (["--accelerator", "H100-SMX"], ["--accelerator", "H100-SXM"]),
        (["--model", "llama-9-9b"], ["--model"]),
        (["--recompute", "sometimes"], ["--recompute", "selective", "full"]),
        (["--precision", "int3"], ["--precision", "bf16", "fp8"]),
        (["--optimizer", "lion"], ["--optimizer", "adamw", "adafactor"]),
        (["--zero", "4"], ["--zero", "0, 1, 2, 3"]),
        (["--devices", "0"], ["--devices", "positive"]),
        (["--tp", "8", "--pp", "2", "--dp", "2", "--cp", "1"], ["--devices", "32"]),
        (["--tp", "3"], ["--devices", "no valid plan"]),
        (["--accelerator", "A100", "--precision", "fp8"], ["--precision", "A100", "bf16"]),
        (["--network", "carrier-pigeon"], ["--network", "ib-ndr"]),
        (["--tokens", "-5"], ["--tokens"]),
    ],
)
def test_estimate_bad_flags_one_line(run_cli, args, needles):
    base = {"--model": "llama-3-8b", "--accelerator": "H100", "--devices": "16"}
    for k, v in zip(args[::2], args[1::2], strict=True):
        base[k] = v
    flat = [x for kv in base.items() for x in kv]
    code, _out, err = run_cli("estimate", "training", *flat)
    _one_line(code, err, *needles)


def test_validate_json_on_reference(run_cli):
    code, out, err = run_cli(
        "validate", "training", str(ROOT / "data" / "reference" / "training.csv"), "--json"
    )
    assert code == 0, err
    doc = json.loads(out)
    assert set(doc) == {"summary", "rows"}
    assert doc["summary"]["scorable"] >= doc["summary"]["scored"] > 250


def test_validate_terminal_on_small_csv(run_cli, tmp_path):
    src = (ROOT / "data" / "reference" / "training.csv").read_text(encoding="utf-8").splitlines()
    keep = [src[0]] + [ln for ln in src[1:] if ln.startswith(("T0031,", "T0227,"))]
    p = tmp_path / "two.csv"
    p.write_text("\n".join(keep) + "\n", encoding="utf-8")
    code, out, err = run_cli("validate", "training", str(p))
    assert code == 0, err
    assert "T0031" in out and "scored 1 of 1" in out


def test_validate_bad_files_one_line(run_cli, tmp_path):
    code, _, err = run_cli("validate", "training", str(tmp_path / "nope.csv"))
    _one_line(code, err, "not found")
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n", encoding="utf-8")
    code, _, err = run_cli("validate", "training", str(bad))
    _one_line(code, err, "missing column", "row_id")
    binary = tmp_path / "bin.csv"
    binary.write_bytes(b"\xff\xfe\x00\x81")
    code, _, err = run_cli("validate", "training", str(binary))
    _one_line(code, err, "UTF-8")


def test_a_plan_with_little_memory_to_spare_is_flagged():
    """Fits, but inside the memory model's median error of the capacity: flagged as tight
    (and still a fit); a roomy plan or one that does not fit is not."""
    from aidc.planner.training_estimate import TIGHT_FIT_SHARE, PlanResult

    cap = 80.0 * 2**30

    def plan(spare_share: float) -> PlanResult:
        return PlanResult({}, {}, {"capacity_bytes": cap}, spare_share >= 0, -spare_share * cap)

    assert plan(0.5 * TIGHT_FIT_SHARE).tight_fit
    assert not plan(2.0 * TIGHT_FIT_SHARE).tight_fit
    assert not plan(-0.01).tight_fit  # does not fit at all


def test_estimate_json_says_whether_the_fit_is_tight(run_cli):
    code, out, err = run_cli(
        "estimate", "training", "--model", "llama-3-8b", "--accelerator", "H100",
        "--devices", "8", "--json",
    )  # fmt: skip
    assert code == 0, err
    plans = json.loads(out)["plans"]
    assert all(isinstance(p["tight_fit"], bool) for p in plans)
    assert all(not p["tight_fit"] for p in plans if not p["fits"])
