"""Engine facts of earlier releases, and grouped (GQA) versus per-query-head decode attention."""

from __future__ import annotations

import csv
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from aidc.catalog.schema import EngineRelease, version_key
from aidc.model.inference_step import decode_work, prefill_work, step_time
from aidc.validation.inference_rows import RowSpec, parse_row
from tests.serving_helpers import CAT, deployment

ROOT = Path(__file__).resolve().parents[1]


def test_version_numbers_parse_leniently() -> None:
    assert version_key("v0.6.1") == (0, 6, 1)
    assert version_key("~1.0") == (1, 0)
    assert version_key("1.1.0rc2") == (1, 1, 0)
    assert version_key("") is None and version_key("latest") is None
    with pytest.raises(ValidationError, match="version number"):
        EngineRelease(before="soon", basis="test")


def test_tensorrt_llm_before_xqa_and_before_the_pytorch_backend() -> None:
    trt = CAT.software.get("tensorrt-llm")
    assert trt.host_s_per_seq is not None and trt.grouped_decode_attention
    old = trt.at_version("v0.6.1")
    assert old.host_s_per_seq is None  # C++ runtime: the calibrated generic figure
    assert old.grouped_decode_attention is False  # masked MHA, no XQA yet
    mid = trt.at_version("0.9.0")
    assert mid.grouped_decode_attention and mid.host_s_per_seq is None
    for current in ("1.0", "~1.0", "0.17", None, "", "nightly"):
        assert trt.at_version(current) == trt
    # the record itself is unchanged (frozen, copied on update)
    assert CAT.software.get("tensorrt-llm").grouped_decode_attention


def test_a_row_is_scored_with_the_release_it_names() -> None:
    path = ROOT / "data" / "reference" / "external" / "trtllm-perf-v0.6.csv"
    with path.open(newline="", encoding="utf-8") as fh:
        row = next(r for r in csv.DictReader(fh) if r["row_id"] == "X0012")
    spec = parse_row(row, CAT)
    assert isinstance(spec, RowSpec) and spec.engine is not None
    assert spec.engine.grouped_decode_attention is False
    current = parse_row({**row, "engine_version": "1.0"}, CAT)
    assert isinstance(current, RowSpec) and current.engine is not None
    assert current.engine.grouped_decode_attention is True


def _attention_s(d, work) -> float:  # type: ignore[no-untyped-def]
    return float(step_time(d, work).attention_s[0])


def test_per_query_head_decode_reads_the_kv_cache_once_per_query_head() -> None:
    """Llama-3.3-70B (64 query heads, 8 KV heads) at TP 2: the masked-MHA kernel moves
    8x the K/V bytes of a grouped kernel; a long-context decode step is memory-bound on
    them, so its attention time grows by nearly the group size. Prefill reads no cache."""
    grouped = deployment("llama-3.3-70b", "H100-SXM", "tensorrt-llm", "fp8", tp=2)
    per_head = replace(
        grouped, engine=replace(grouped.engine, grouped_decode_attention=np.array([False]))
    )
    a = grouped.arch
    group = a.n_heads / a.kv_heads
    work = decode_work(64.0, 3072.0)
    kv_bytes = 64 * 3072 * 2 * (a.kv_heads / 2) * a.head_dim * a.n_layers * grouped.fmt.kv_bytes
    t_grouped, t_per_head = _attention_s(grouped, work), _attention_s(per_head, work)
    bw = float(grouped.hw.hbm_bw_bytes_per_s[0])
    assert t_per_head * a.n_layers >= group * kv_bytes / bw  # at most the device bandwidth
    assert t_per_head / t_grouped == pytest.approx(group, rel=0.05)
    prompt = prefill_work(8.0, 2048.0)
    assert _attention_s(per_head, prompt) == pytest.approx(_attention_s(grouped, prompt))


def test_multi_head_models_read_the_same_bytes_either_way() -> None:
    """Without grouped heads (GPT-3 style MHA) the two kernels load the same K/V."""
    mha = deployment("gpt3-175b", "A100-SXM-80GB", "fastertransformer", "fp16", tp=8)
    assert mha.arch.kv_heads == mha.arch.n_heads
    assert not bool(mha.engine.grouped_decode_attention[0])  # FasterTransformer's masked MHA
    grouped = replace(mha, engine=replace(mha.engine, grouped_decode_attention=np.array([True])))
    work = decode_work(32.0, 1024.0)
    assert _attention_s(mha, work) == pytest.approx(_attention_s(grouped, work))


def test_release_notes_say_what_an_earlier_release_did_differently() -> None:
    trt = CAT.software.get("tensorrt-llm")
    notes = trt.release_notes("0.6.1")
    assert len(notes) == 2
    assert any("grouped_decode_attention = False" in n and "XQA" in n for n in notes)
    assert any("host_s_per_seq = not recorded" in n for n in notes)
    assert trt.release_notes("1.0") == [] and trt.release_notes(None) == []


ESTIMATE = (
    "estimate", "inference", "--model", "llama-3.3-70b", "--accelerator", "H100-SXM",
    "--engine", "tensorrt-llm", "--precision", "fp8", "--devices", "2", "--tp", "2",
    "--batch-size", "64", "--input-len", "2048", "--output-len", "2048", "--json",
)  # fmt: skip


def test_estimate_takes_an_engine_release(run_cli) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = run_cli(*ESTIMATE)
    assert code == 0
    current = json.loads(out)
    code, out, _ = run_cli(*ESTIMATE, "--engine-version", "0.6.1")
    assert code == 0
    old = json.loads(out)
    # no XQA: the 70B model's long-context decode reads 8x the K/V bytes
    assert old["metrics"]["tpot_s"] > 1.5 * current["metrics"]["tpot_s"]
    assert any("before 0.8" in n for n in old["notes"])
    code, _, err = run_cli(*ESTIMATE, "--engine-version", "banana")
    assert code != 0 and "--engine-version" in err and "Traceback" not in err
    assert len([ln for ln in err.strip().splitlines() if ln.strip()]) == 1
