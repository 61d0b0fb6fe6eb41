"""Fused attention in the serving model follows the device's measured kernel curve."""

from __future__ import annotations

import itertools
from dataclasses import replace

import numpy as np
import pytest

from aidc.catalog.efficiency import kernel_efficiency_for, load_kernel_efficiency
from aidc.catalog.schema import Precision
from aidc.model.inference import attention_curves
from aidc.model.inference_step import (
    decode_work,
    encoder_work,
    fused_attention_efficiency,
    prefill_work,
    step_time,
)
from tests.serving_helpers import CAT, deployment

dep = deployment


def test_fused_prefill_attention_efficiency_rises_with_prompt_and_approaches_the_curve_max():
    d = dep("llama-3-70b", "H100-SXM")  # head dim 128: the records' own head dim
    rec = kernel_efficiency_for(CAT.accelerators.get("H100-SXM")).attention_for(Precision.BF16)
    c = d.eff.attention[0]
    prompts = [128.0, 512.0, 2048.0, 8192.0, 32768.0]
    effs = [fused_attention_efficiency(d, prefill_work(1.0, n))[0] for n in prompts]
    assert all(b > a for a, b in itertools.pairwise(effs))
    # a causal prompt of n tokens is the curve at s = n: e_max n / (n + s_half), scaled
    for n, e in zip(prompts, effs, strict=True):
        assert e == pytest.approx(c * rec.max_efficiency * n / (n + rec.seq_half), rel=1e-9)
    plateau = c * rec.max_efficiency
    assert effs[0] < 0.5 * plateau
    assert fused_attention_efficiency(d, prefill_work(1.0, 1e6))[0] > 0.99 * plateau
    # a 32k prompt's attention runs several times faster per FLOP than a 128-token one
    assert effs[-1] > 3.0 * effs[0]


def test_decode_attention_takes_the_plateau_and_stays_memory_bound():
    d = dep("llama-3-70b", "H100-SXM")
    rec = kernel_efficiency_for(CAT.accelerators.get("H100-SXM")).attention_for(Precision.BF16)
    step = decode_work(64.0, 128.0)
    assert fused_attention_efficiency(d, step)[0] == pytest.approx(
        d.eff.attention[0] * rec.max_efficiency
    )
    # the KV cache read decides a decode step's attention time even at a short context
    a = d.arch
    kv = step.kv_read_tokens * 2.0 * a.kv_heads * a.head_dim * d.fmt.kv_bytes
    bw = d.hw.hbm_bw_bytes_per_s * d.eff.memory_bw
    per_layer = step_time(d, step).attention_s / a.n_layers
    assert per_layer[0] == pytest.approx((kv / bw)[0], rel=1e-9)


def test_encoder_small_heads_and_devices_without_a_record():
    # bidirectional: keys per query s stand for a causal length 2 s - 1; head dim 64
    # keeps less than head dim 128 at the same length
    bert = dep("bert-base", "A100-SXM-80GB", "fastertransformer", "fp16")
    enc = encoder_work(np.ones(1), np.full(1, 384.0), np.full(1, 384.0), np.zeros(1, bool))
    rec = kernel_efficiency_for(CAT.accelerators.get("A100-SXM-80GB")).attention_for(Precision.BF16)
    s = 2.0 * 384.0 - 1.0
    full = bert.eff.attention[0] * rec.max_efficiency * s / (s + rec.seq_half)
    assert 0.7 * full < fused_attention_efficiency(bert, enc)[0] < 0.9 * full
    # T4 has no kernel record: the default one (medians of the measured records), as
    # for the GEMM curves; CPUs get the default plateau, flat in the prompt length
    recs = load_kernel_efficiency()
    default = next(r for r in recs if r.id == "default").attention_for(Precision.BF16)
    accs = [CAT.accelerators.get(i) for i in ("T4", "H100-SXM", "Snapdragon-8-Gen3-CPU")]
    e_max, s_half = attention_curves(accs)
    assert (e_max[0], s_half[0]) == (default.max_efficiency, default.seq_half)
    assert e_max[1] != default.max_efficiency
    assert (e_max[2], s_half[2]) == (default.max_efficiency, 0.0)
    # without curve data the calibrated value is the share of the attention peak itself
    d = dep("llama-3-70b", "H100-SXM")
    bare = replace(d, attn_max_efficiency=None, attn_seq_half=None)
    assert fused_attention_efficiency(bare, prefill_work(1.0, 4096.0))[0] == d.eff.attention[0]
