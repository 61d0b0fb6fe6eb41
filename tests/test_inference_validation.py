"""Validation of the serving model against the reference measurements, and its CLI."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from aidc.catalog import load_catalog
from aidc.catalog.calibration import load_default_calibration
from aidc.validation.inference_rows import (
    find_accelerator,
    find_engine,
    format_name,
    parse_number,
    parse_row,
)
from aidc.validation.inference_score import score_rows

ROOT = Path(__file__).resolve().parents[1]
REF = ROOT / "data" / "reference" / "inference.csv"
MEASURED = (
    "output_tokens_per_s",
    "ttft_ms",
    "tpot_ms",
    "e2e_latency_ms",
    "prefill_tokens_per_s",
    "decode_tokens_per_s_per_user",
    "peak_mem_gb",
    "requests_per_s",
    "total_tokens_per_s",
)

# In-sample tolerance of the shipped calibration (fitted on this file): a drift guard.
# The leave-one-source-out figures are in benchmarks/inference_validation.py.
IN_SAMPLE_MEDIAN_APE = 0.13
IN_SAMPLE_P90_APE = 0.40


def reference_rows() -> list[dict[str, str]]:
    with REF.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_parse_number_is_lenient():
    assert parse_number("~60") == 60
    assert parse_number("15T+") == 15e12
    assert parse_number("~250k") == 250e3
    assert parse_number("1,234.5") == 1234.5
    assert parse_number("") is None and parse_number("n/a") is None


def test_names_map_to_the_catalog():
    cat = load_catalog()
    expect = {
        "A100-80GB (SuperPod; NVSwitch intra-node, 8x200Gb/s IB inter-node)": "A100-SXM-80GB",
        "GB200-192GB (GB200 NVL72)": "GB200",
        "H100-SXM-80GB (DGX H100)": "H100-SXM",
        "RTX 6000 Pro Blackwell Server Edition": "RTX-PRO-6000-Blackwell",
        "NVIDIA DGX Spark (GB10, single unit)": "GB10",
        "OnePlus 12 (Android, ARM CPU)": "Snapdragon-8-Gen3-CPU",
        "V100 (DGX-1)": "V100-SXM2-16GB",
    }
    for text, acc_id in expect.items():
        assert find_accelerator(text, cat).id == acc_id
    assert (
        find_engine("TensorRT-LLM (PyTorch backend, trtllm-bench throughput)", cat).id
        == "tensorrt-llm"
    )
    assert (
        find_engine("FasterTransformer TF op + remove-padding (EFF-FT)", cat).id
        == "fastertransformer"
    )
    assert find_engine("PyTorch TorchScript", cat).id == "pytorch"
    assert format_name("FP4 (NVIDIA ModelOpt checkpoint)") == "fp4"
    assert format_name("INT8-v2") == "int8"
    assert format_name("SpinQuant (4-bit weights)") == "w4a8"
    assert format_name("4-bit") == "int4-weight-only"


def test_rows_choose_the_measurement_method():
    cat = load_catalog()
    by_source = {}
    for row in reference_rows():
        spec = parse_row(row, cat)
        if hasattr(spec, "mode"):
            by_source.setdefault(row["source_id"], set()).add(spec.mode)
    assert by_source["fastertransformer-bert"] == {"encoder"}
    assert by_source["fastertransformer-gpt"] == {"static"}
    assert by_source["trtllm-perf-overview-v1"] == {"continuous"}


def test_predictions_never_depend_on_measured_columns():
    rows = reference_rows()
    cat, cal = load_catalog(), load_default_calibration()
    entries, _ = score_rows(rows, cat, cal)
    altered = []
    for i, row in enumerate(rows):
        r = dict(row)
        for col in MEASURED:
            if r.get(col):
                r[col] = "" if i % 7 == 0 else str(float(r[col]) * 3.7)
        altered.append(r)
    entries2, _ = score_rows(altered, cat, cal)
    pred = {(e.row_id, e.metric): e.predicted for e in entries if e.predicted is not None}
    pred2 = {(e.row_id, e.metric): e.predicted for e in entries2 if e.predicted is not None}
    common = pred.keys() & pred2.keys()
    assert len(common) > 900
    assert all(pred[k] == pred2[k] for k in common)


def test_shipped_calibration_on_the_reference_set():
    entries, s = score_rows(reference_rows(), load_catalog(), load_default_calibration())
    assert s["coverage"] >= 0.90
    assert s["median_ape"] <= IN_SAMPLE_MEDIAN_APE
    assert s["p90_ape"] <= IN_SAMPLE_P90_APE
    assert s["oom_accuracy"] >= 0.85
    assert {e.metric for e in entries} >= {
        "e2e_latency_ms",
        "output_tokens_per_s",
        "ttft_ms",
        "peak_mem_gb",
        "oom",
    }


# ------------------------------------------------------------------------------------ CLI


def test_validate_inference_json_shape(run_cli, tmp_path):
    rows = reference_rows()
    pick = [
        r for r in rows if r["row_id"] in {"I0557", "I0661", "I0956", "I0286", "I0409", "I0398"}
    ]
    path = tmp_path / "few.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(pick)
    code, out, err = run_cli("validate", "inference", str(path), "--json")
    assert code == 0, err
    doc = json.loads(out)
    s = doc["summary"]
    assert {"scorable", "scored", "median_ape", "p90_ape"} <= s.keys()
    assert s["scorable"] == 6 and s["scored"] == 5  # the hybrid-Mamba Nemotron row is skipped
    for r in doc["rows"]:
        assert "row_id" in r and "metric" in r
        assert ("skipped" in r) or {"measured", "predicted", "ape"} <= r.keys()
    metrics = {(r["row_id"], r["metric"]) for r in doc["rows"]}
    assert ("I0398", "ttft_ms") in metrics and ("I0661", "oom") in metrics
    code, out, err = run_cli("validate", "inference", str(path))
    assert code == 0 and "median APE" in out


def test_validate_inference_bad_file(run_cli, tmp_path):
    code, _, err = run_cli("validate", "inference", str(tmp_path / "missing.csv"))
    assert code == 2 and "cannot read" in err and "Traceback" not in err


def test_estimate_inference_json(run_cli):
    code, out, err = run_cli(
        "estimate",
        "inference",
        "--model",
        "llama-3.3-70b",
        "--accelerator",
        "H100",
        "--devices",
        "4",
        "--precision",
        "fp8",
        "--concurrency",
        "32",
        "--input-len",
        "1000",
        "--output-len",
        "200",
        "--json",
    )
    assert code == 0, err
    doc = json.loads(out)
    assert doc["fits"] and doc["tp"] == 4 and doc["replicas"] == 1
    m = doc["metrics"]
    assert 0 < m["ttft_s"] < m["e2e_s"] and 0 < m["tpot_s"] < 0.2 and m["output_tokens_per_s"] > 0
    assert doc["memory_bytes"]["kv_per_token"] > 0


def test_estimate_inference_rate_runs_the_simulation(run_cli):
    code, out, err = run_cli(
        "estimate",
        "inference",
        "--model",
        "llama-3.1-8b",
        "--accelerator",
        "L40S",
        "--devices",
        "2",
        "--precision",
        "fp8",
        "--rate",
        "4",
        "--json",
    )
    assert code == 0, err
    m = json.loads(out)["metrics"]
    assert m["sim_ttft_p99_s"] >= m["sim_ttft_p50_s"] > 0 and m["ttft_p99_s"] > 0


def test_estimate_inference_encoder_and_does_not_fit(run_cli):
    code, out, err = run_cli(
        "estimate",
        "inference",
        "--model",
        "bert-large",
        "--accelerator",
        "T4",
        "--batch-size",
        "8",
        "--seq-len",
        "384",
        "--precision",
        "fp16",
        "--json",
    )
    assert code == 0, err
    assert json.loads(out)["metrics"]["latency_s"] > 0
    code, out, err = run_cli(
        "estimate",
        "inference",
        "--model",
        "llama-3.1-405b",
        "--accelerator",
        "A100-80GB",
        "--devices",
        "8",
        "--precision",
        "bf16",
    )
    assert code == 0, err
    assert "does not fit" in out and "short by" in out


@pytest.mark.parametrize(
    "args, needle",
    [
        (["--accelerator", "H1000"], "did you mean"),
        (["--accelerator", "H100", "--precision", "fp5"], "precision"),
        (["--accelerator", "H100", "--devices", "3", "--tp", "2"], "--tp"),
        (["--accelerator", "V100", "--precision", "fp8"], "--precision"),
        (["--accelerator", "H100", "--rate", "2", "--concurrency", "3"], "at most one"),
        (["--accelerator", "MI300X", "--engine", "tensorrt-llm"], "does not run on MI300X"),
    ],
)
def test_estimate_inference_bad_input_is_one_line(run_cli, args, needle):
    code, _, err = run_cli("estimate", "inference", "--model", "llama-3.1-8b", *args)
    lines = [ln for ln in err.strip().splitlines() if ln.strip()]
    assert code == 2 and len(lines) == 1 and "Traceback" not in err
    assert needle.lower() in lines[0].lower()


def test_estimate_inference_trace_and_sparsity(run_cli, tmp_path):
    trace = tmp_path / "trace.csv"
    trace.write_text(
        "timestamp_s,input_tokens,output_tokens\n0,100,50\n0.2,400,20\n0.9,200,80\n",
        encoding="utf-8",
    )
    code, out, err = run_cli(
        "estimate",
        "inference",
        "--model",
        "llama-3.1-8b",
        "--accelerator",
        "L40S",
        "--precision",
        "fp8",
        "--trace",
        str(trace),
        "--json",
    )
    assert code == 0, err
    doc = json.loads(out)
    assert "trace of 3 requests" in doc["mode"] and doc["metrics"]["sim_e2e_p99_s"] > 0
    # 2:4 sparsity only where device and engine have kernels; otherwise said, not counted
    code, out, _ = run_cli(
        "estimate",
        "inference",
        "--model",
        "llama-3.1-8b",
        "--accelerator",
        "T4",
        "--precision",
        "fp16",
        "--sparsity",
        "2:4",
        "--json",
    )
    doc = json.loads(out)
    assert doc["precision"] == "fp16" and any("no speed-up" in n for n in doc["notes"])
    args = [
        "estimate",
        "inference",
        "--model",
        "llama-3.1-8b",
        "--accelerator",
        "A100",
        "--precision",
        "fp16",
        "--engine",
        "tensorrt-llm",
        "--batch-size",
        "64",
        "--json",
    ]
    dense = json.loads(run_cli(*args)[1])
    sparse = json.loads(run_cli(*args, "--sparsity", "2:4")[1])
    assert sparse["precision"] == "fp16+2:4"
    assert sparse["metrics"]["ttft_s"] < dense["metrics"]["ttft_s"]
    assert sparse["memory_bytes"]["weights"] < dense["memory_bytes"]["weights"]
    code, _, err = run_cli(
        "estimate",
        "inference",
        "--model",
        "llama-3.1-8b",
        "--accelerator",
        "L40S",
        "--trace",
        str(tmp_path / "none.csv"),
    )
    assert code == 2 and "--trace" in err
