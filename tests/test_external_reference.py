"""The out-of-sample TensorRT-LLM v0.5/v0.6.1 rows parse completely (coverage, not error)."""

from __future__ import annotations

import csv
from pathlib import Path

from aidc.catalog import load_catalog
from aidc.catalog.calibration import load_default_calibration
from aidc.validation.inference_rows import RowSpec, parse_row
from aidc.validation.inference_score import score_rows

ROOT = Path(__file__).resolve().parents[1]
EXTERNAL = ROOT / "data" / "reference" / "external" / "trtllm-perf-v0.6.csv"


def _rows() -> list[dict[str, str]]:
    with EXTERNAL.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_same_schema_as_the_reference_set() -> None:
    ref = (ROOT / "data" / "reference" / "inference.csv").open(encoding="utf-8").readline()
    assert EXTERNAL.open(encoding="utf-8").readline() == ref


def test_every_row_parses_as_a_static_batch_on_the_stated_gpu() -> None:
    catalog = load_catalog()
    rows = _rows()
    assert len(rows) == 57  # 37 throughput + 20 first-token rows of the doc
    hardware = set()
    for row in rows:
        spec = parse_row(row, catalog)
        assert isinstance(spec, RowSpec), spec
        assert spec.mode == "static"
        assert spec.engine is not None and spec.engine.id == "tensorrt-llm"
        assert spec.fmt == ("fp16" if spec.hardware.startswith("A100") else "fp8")
        assert spec.tp == int(row["tp"])
        hardware.add(spec.hardware)
    assert hardware == {"H100-SXM", "L40S", "A100-SXM-80GB"}


def test_full_coverage_with_the_shipped_calibration() -> None:
    entries, summary = score_rows(_rows(), load_catalog(), load_default_calibration())
    assert summary["coverage"] == 1.0
    assert not summary["skipped"]
    assert {e.metric for e in entries} == {"output_tokens_per_s_per_gpu", "ttft_ms"}
    assert all(e.predicted is not None and e.predicted > 0 for e in entries)


def test_the_llama_8b_table_parses_completely_as_tp1_throughput_runs() -> None:
    path = ROOT / "data" / "reference" / "external" / "trtllm-perf-overview-v1-llama31-8b.csv"
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 20 and path.open(encoding="utf-8").readline() == (
        EXTERNAL.open(encoding="utf-8").readline()
    )
    catalog = load_catalog()
    for row in rows:
        spec = parse_row(row, catalog)
        assert isinstance(spec, RowSpec), spec
        assert spec.arch.id == "llama-3.1-8b" and spec.tp == 1 and spec.fmt == "fp8"
        assert spec.engine is not None and spec.engine.host_s_per_seq is not None  # ~1.0
    entries, summary = score_rows(rows, catalog, load_default_calibration())
    assert summary["coverage"] == 1.0
    assert {e.metric for e in entries} == {"output_tokens_per_s"}
