"""Physical invariants of the serving model (property tests) and its building blocks."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aidc.catalog.calibration import Calibration, CalibrationValue
from aidc.catalog.inference_calibration import efficiency_columns, inference_keys, inference_value
from aidc.model.inference import (
    build_deployment,
    continuous_generation,
    encoder_pass,
    static_generation,
)
from aidc.model.inference_memory import memory_estimate, weight_bytes_per_device
from aidc.model.inference_step import decode_work, prefill_work, step_time
from aidc.model.serve_format import FORMATS, serve_format
from aidc.model.transformer import (
    dense_matmul_params,
    kv_cache_bytes,
    kv_cache_bytes_per_token,
    param_counts,
)
from tests.serving_helpers import CAL, CAT, LINKS

MODELS = ["llama-3.3-70b", "qwen3-30b-a3b", "tinyllama-1.1b", "gpt3-6.7b"]
SETS = settings(max_examples=40, deadline=None)


def dep(model="llama-3.3-70b", acc="H100-SXM", eng="vllm", fmt="fp8", tp=1, pp=1):
    a = CAT.models.get(model)
    A = CAT.accelerators.get(acc)
    E = CAT.software.get(eng)
    F = serve_format(fmt)
    eff = efficiency_columns(CAL, [(A.id, E.id, F.name)])
    return build_deployment(
        [a],
        [A],
        [E],
        [F],
        tp=np.array([tp], float),
        pp=np.array([pp], float),
        links=LINKS,
        efficiency=eff,
    )


def scaled(d, *, bw=1.0, flops=1.0):
    hw = replace(
        d.hw,
        hbm_bw_bytes_per_s=d.hw.hbm_bw_bytes_per_s * bw,
        peak_flops_per_s=d.hw.peak_flops_per_s * flops,
    )
    return replace(d, hw=hw, attn_peak_flops_per_s=d.attn_peak_flops_per_s * flops)


@SETS
@given(
    model=st.sampled_from(MODELS),
    tp=st.sampled_from([1, 2, 4, 8]),
    batch=st.integers(1, 512),
    n_in=st.integers(1, 8192),
    n_out=st.integers(1, 2048),
    k=st.floats(1.0, 8.0),
)
def test_more_bandwidth_or_flops_never_raises_latency(model, tp, batch, n_in, n_out, k):
    d = dep(model, tp=tp)
    base = static_generation(d, batch=batch, input_len=n_in, output_len=n_out)
    for faster in (scaled(d, bw=k), scaled(d, flops=k), scaled(d, bw=k, flops=k)):
        g = static_generation(faster, batch=batch, input_len=n_in, output_len=n_out)
        assert g.ttft_s[0] <= base.ttft_s[0] * (1 + 1e-12)
        assert g.tpot_s[0] <= base.tpot_s[0] * (1 + 1e-12)
        assert g.e2e_s[0] <= base.e2e_s[0] * (1 + 1e-12)
    e = dep("bert-base", acc="T4", eng="fastertransformer", fmt="fp16")
    lat = encoder_pass(e, batch=batch, seq_len=min(n_in, 512)).latency_s[0]
    assert encoder_pass(scaled(e, bw=k, flops=k), batch=batch, seq_len=min(n_in, 512)).latency_s[
        0
    ] <= lat * (1 + 1e-12)


@SETS
@given(
    model=st.sampled_from(MODELS),
    tp=st.sampled_from([1, 2, 4]),
    pp=st.sampled_from([1, 2]),
    b1=st.integers(1, 256),
    extra=st.integers(1, 256),
    n_in=st.integers(1, 4096),
    n_out=st.integers(1, 1024),
)
def test_larger_batch_never_lowers_per_request_latency(model, tp, pp, b1, extra, n_in, n_out):
    d = dep(model, tp=tp, pp=pp)
    g1 = static_generation(d, batch=b1, input_len=n_in, output_len=n_out)
    g2 = static_generation(d, batch=b1 + extra, input_len=n_in, output_len=n_out)
    assert g2.e2e_s[0] >= g1.e2e_s[0] * (1 - 1e-12)
    assert g2.ttft_s[0] >= g1.ttft_s[0] * (1 - 1e-12)
    c1 = continuous_generation(d, input_len=n_in, output_len=n_out, concurrency=b1)
    c2 = continuous_generation(d, input_len=n_in, output_len=n_out, concurrency=b1 + extra)
    assert c2.e2e_s[0] >= c1.e2e_s[0] * (1 - 1e-12)
    e = dep("bert-base", acc="A100-SXM-80GB", eng="fastertransformer", fmt="fp16")
    l1 = encoder_pass(e, batch=b1, seq_len=min(n_in, 512)).latency_s[0]
    l2 = encoder_pass(e, batch=b1 + extra, seq_len=min(n_in, 512)).latency_s[0]
    assert l2 >= l1


@SETS
@given(
    model=st.sampled_from([*MODELS, "llama-3.2-1b"]),
    ctx=st.integers(1, 100_000),
    fmt=st.sampled_from(["fp16", "fp8"]),
)
def test_kv_bytes_scale_linearly_with_context(model, ctx, fmt):
    arch = CAT.models.get(model)
    per = kv_cache_bytes_per_token(arch, 2.0)
    assert kv_cache_bytes(arch, ctx, 2.0) == pytest.approx(ctx * per)
    assert kv_cache_bytes(arch, 2 * ctx, 2.0) == pytest.approx(2 * kv_cache_bytes(arch, ctx, 2.0))
    d = dep(model, eng="fastertransformer", acc="H200-SXM", fmt=fmt)  # exact KV allocation
    m1 = memory_estimate(d, batch=1, input_len=ctx, output_len=0)
    m2 = memory_estimate(d, batch=1, input_len=2 * ctx, output_len=0)
    assert m2.kv_bytes[0] == pytest.approx(2 * m1.kv_bytes[0])


def test_kv_heads_gqa_mqa():
    """MHA keeps n_q heads, GQA fewer: 70B (8 of 64 heads) caches 1/8 of an MHA model's KV."""
    arch = CAT.models.get("llama-3.3-70b")
    mha = arch.model_copy(update={"n_kv_heads": None})
    assert kv_cache_bytes_per_token(mha, 2.0) == pytest.approx(
        8 * kv_cache_bytes_per_token(arch, 2.0)
    )
    assert kv_cache_bytes_per_token(arch, 2.0) == 2 * 80 * 8 * 128 * 2.0


@SETS
@given(
    model=st.sampled_from(MODELS),
    batch=st.integers(1, 256),
    ctx=st.integers(1, 8192),
    tp=st.sampled_from([1, 2, 8]),
)
def test_step_time_at_least_speed_of_light(model, batch, ctx, tp):
    d = dep(model, tp=tp)
    arch = CAT.models.get(model)
    w = decode_work(batch, ctx)
    t = step_time(d, w).sequential_s[0]
    active = param_counts(arch).matmul_active
    peak, bw = d.hw.peak_flops_per_s[0], d.hw.hbm_bw_bytes_per_s[0]
    assert t >= 2.0 * active * batch / tp / peak * (1 - 1e-9)
    assert t >= dense_matmul_params(arch) * d.fmt.weight_bytes[0] / tp / bw * (1 - 1e-9)
    p = step_time(d, prefill_work(1, ctx)).sequential_s[0]
    assert p >= 2.0 * active * ctx / tp / peak * (1 - 1e-9)


@pytest.mark.parametrize("model", MODELS)
def test_memory_per_device_never_rises_with_sharding(model):
    prev = np.inf
    for tp in (1, 2, 4, 8):
        d = dep(model, tp=tp, eng="fastertransformer")
        m = memory_estimate(d, batch=8, input_len=1024, output_len=256)
        per_dev = m.weights_bytes[0] + m.kv_bytes[0]
        assert per_dev <= prev
        prev = per_dev


def test_does_not_fit_reports_shortfall():
    d = dep("llama-3.3-70b", acc="A100-SXM-40GB", fmt="bf16")
    g = continuous_generation(d, input_len=1000, output_len=200)
    assert not g.memory.fits[0]
    assert g.memory.shortfall_bytes[0] > 90e9  # 140 GB of weights on a 40 GB card
    assert continuous_generation(
        dep("llama-3.3-70b", tp=4), input_len=1000, output_len=200
    ).memory.fits[0]


def test_quantization_shrinks_weights_and_kv():
    b16 = weight_bytes_per_device(dep("llama-3.3-70b", fmt="bf16"))[0]
    f8 = weight_bytes_per_device(dep("llama-3.3-70b", fmt="fp8"))[0]
    i4 = weight_bytes_per_device(dep("llama-3.3-70b", fmt="int4-weight-only"))[0]
    assert b16 > f8 > i4 > 0.25 * b16
    assert serve_format("bf16", kv="fp8").kv_bytes == 1.0
    sparse = serve_format("fp16", sparse_2_4=True)
    assert sparse.gemm_flop_factor == 0.5 and sparse.weight_bytes < 2.0
    assert all(f.weight_bytes > 0 for f in FORMATS.values())


def test_decode_is_memory_bound_and_prefill_compute_bound():
    d = dep("llama-3.3-70b", acc="H100-SXM", fmt="fp8", tp=2)
    dec = step_time(d, decode_work(1, 1000))
    pre = step_time(d, prefill_work(1, 8192))
    w = weight_bytes_per_device(d)[0]
    # a batch-1 decode streams the weights: close to bytes / bandwidth
    assert dec.gemm_s[0] == pytest.approx(
        w / (d.hw.hbm_bw_bytes_per_s[0] * d.eff.memory_bw[0]), rel=0.1
    )
    # a long prefill does far more work per weight byte
    assert pre.gemm_s[0] > 20 * dec.gemm_s[0]


def test_moe_decode_touches_more_experts_with_batch():
    d = dep("qwen3-30b-a3b", acc="B200", fmt="fp4", eng="tensorrt-llm")
    t1 = step_time(d, decode_work(1, 100)).gemm_s[0]
    t64 = step_time(d, decode_work(64, 100)).gemm_s[0]
    assert t64 > 3 * t1  # 8 of 128 experts at batch 1, nearly all at 64


def test_calibration_lookup_most_specific_first():
    def cal(**vals):
        return Calibration(
            name="t",
            values={
                k: CalibrationValue(value=v, provenance="measured", source="test")
                for k, v in vals.items()
            },
        )

    keys = inference_keys("compute_efficiency", "H100-SXM", "vllm", "fp8")
    assert keys == (
        "inference.H100-SXM.vllm.fp8.compute_efficiency",
        "inference.H100-SXM.compute_efficiency",
        "inference.vllm.compute_efficiency",
        "inference.compute_efficiency",
    )
    layered = {k: 0.1 * (i + 1) for i, k in enumerate(keys)}
    for i in range(len(keys)):
        c = cal(**{k: v for k, v in list(layered.items())[i:]})
        assert inference_value(
            c, "compute_efficiency", accelerator="H100-SXM", engine="vllm", precision="fp8"
        ) == pytest.approx(0.1 * (i + 1))
    c = cal(**{"inference.step_overhead_ms": 2.0})
    assert inference_value(
        c, "step_overhead_ms", accelerator="x", engine="y", precision="z"
    ) == pytest.approx(0.002)
    with pytest.raises(KeyError):
        inference_value(c, "compute_efficiency", accelerator="x", engine="y", precision="z")
    # a measured file laid over the defaults wins at the same key
    merged = CAL.merged(cal(**{"inference.compute_efficiency": 0.123}))
    assert efficiency_columns(merged, [("nope", "nope", "fp8")])["compute"][0] == pytest.approx(
        0.123
    )


def test_tp_allreduce_hierarchical_beyond_scaleup_domain():
    """Inside the NVLink domain the TP all-reduce is a flat ring; a 16-way group on
    8-GPU nodes sends only S / 8 per device over its own NIC, so it costs far less than a
    flat ring at the NIC bandwidth and more than the 8-way group alone."""
    from aidc.model.collectives import allreduce_time_s
    from aidc.model.inference_comm import tp_allreduce_s

    d8, d16 = dep("gpt3-6.7b", "A100-SXM-80GB", tp=8), dep("gpt3-6.7b", "A100-SXM-80GB", tp=16)
    assert d8.hw.scaleup_domain_devices[0] == 8
    s = np.array([64e6])
    hw = d8.hw
    flat8 = allreduce_time_s(s, 8, hw.scaleup_bw_bytes_per_s, hw.scaleup_latency_s)
    assert tp_allreduce_s(d8, s)[0] == pytest.approx(flat8[0])
    flat16_nic = allreduce_time_s(s, 16, hw.scaleout_bw_bytes_per_s, hw.scaleout_latency_s)
    t16 = tp_allreduce_s(d16, s)[0]
    assert flat8[0] < t16 < flat16_nic[0]
    faster = replace(
        d16, hw=replace(d16.hw, scaleout_bw_bytes_per_s=d16.hw.scaleout_bw_bytes_per_s * 2)
    )
    assert tp_allreduce_s(faster, s)[0] < t16


def test_shortfall_of_a_fractional_kv_pool_is_positive():
    """Weights that fit the device but leave the engine's KV pool (a share of memory)
    no room for one request: 'does not fit' comes with a positive shortfall."""
    d = dep("llama-3.3-70b", "H100-SXM", eng="vllm", fmt="bf16", tp=2)
    # ~4 GB of pool on each 80 GiB device next to 70 GB of weights; one 33k-token request
    # needs ~5.4 GB of KV
    m = memory_estimate(d, batch=16, input_len=32768, output_len=256)
    assert not m.fits[0]
    assert m.shortfall_bytes[0] > 0
    bigger = replace(d, hw=replace(d.hw, memory_bytes=d.hw.memory_bytes + m.shortfall_bytes))
    assert memory_estimate(bigger, batch=16, input_len=32768, output_len=256).fits[0]


def test_attention_dp_replicates_dense_weights_and_shards_kv_without_repeats():
    """Data-parallel attention (MoE): attention, dense MLPs and shared experts stay whole on
    every rank, routed experts stay sharded; KV heads are not repeated across the group."""
    d = dep("qwen3-30b-a3b", acc="B200", eng="tensorrt-llm", tp=8)
    adp = replace(d, attention_dp=np.array([True]))
    a, f = d.arch, d.fmt
    extra = weight_bytes_per_device(adp) - weight_bytes_per_device(d)
    assert extra[0] == pytest.approx(a.dense_params[0] * f.weight_bytes[0] * (1 - 1 / 8))
    # Qwen3-30B-A3B has 4 KV heads: TP 8 repeats each twice, attention DP does not
    kv_tp = memory_estimate(d, batch=1, input_len=1, output_len=0).kv_bytes_per_token
    kv_dp = memory_estimate(adp, batch=1, input_len=1, output_len=0).kv_bytes_per_token
    assert kv_dp[0] == pytest.approx(kv_tp[0] / 2)


def test_pipeline_stage_holds_whole_embedding_or_lm_head():
    """With pp > 1 the first stage keeps the input embedding and the last the LM head, so
    the most loaded stage holds the larger of the two rather than 1/pp of both."""
    d = dep("llama-3.3-70b", eng="tensorrt-llm", pp=4)
    a, f = d.arch, d.fmt
    layers = (a.total_params - a.embed_params) * f.weight_bytes / 4
    ends = max(a.embed_params[0] - a.lm_head_params[0], a.lm_head_params[0]) * f.embed_bytes
    assert weight_bytes_per_device(d)[0] == pytest.approx(layers[0] + ends[0])
    one = dep("llama-3.3-70b", eng="tensorrt-llm", pp=1)
    assert weight_bytes_per_device(one)[0] == pytest.approx(
        ((a.total_params - a.embed_params) * f.weight_bytes + a.embed_params * f.embed_bytes)[0]
    )


def test_replicated_embeddings_hold_embedding_and_lm_head_whole_on_every_rank():
    """FasterTransformer's ParallelGptWeight allocates the token and position tables and a
    separate vocab x hidden LM head on every rank; the layers stay sharded."""
    d = dep("gpt3-6.7b", acc="A100-SXM-80GB", eng="fastertransformer", fmt="fp16", tp=4)
    a, f = d.arch, d.fmt
    layers = (a.total_params - a.embed_params) * f.weight_bytes / 4
    whole = (a.input_embed_params + a.lm_head_params) * f.embed_bytes
    assert weight_bytes_per_device(d)[0] == pytest.approx(layers[0] + whole[0])
    plain = replace(d, engine=replace(d.engine, replicated_embeddings=np.array([False])))
    assert weight_bytes_per_device(plain)[0] < weight_bytes_per_device(d)[0]


def test_buffer_growth_scales_static_kv_and_prefill_buffers():
    d = dep("gpt3-6.7b", acc="A100-SXM-80GB", eng="fastertransformer", fmt="fp16")
    exact = replace(d, engine=replace(d.engine, buffer_growth=np.array([1.0])))
    kw = dict(batch=16, input_len=512, output_len=32)
    grown, base = memory_estimate(d, **kw), memory_estimate(exact, **kw)
    g = float(d.engine.buffer_growth[0])
    assert g > 1.0
    assert grown.kv_bytes[0] == pytest.approx(g * base.kv_bytes[0])
    logits = 16 * d.arch.lm_head_params[0] / d.arch.hidden[0] * 4.0
    # the unfused GPT context attention's two fp16 score buffers (context_fused_attention)
    scores = 2.0 * 16 * d.arch.n_heads[0] * 512.0**2 * 2.0
    assert grown.activation_bytes[0] - logits - scores == pytest.approx(
        g * (base.activation_bytes[0] - logits - scores)
    )


def test_prefill_buffers_follow_the_engine_counts():
    """T (n_h h + (n_s h + n_f f) / tp) b_a: whole-width buffers do not shrink with TP."""
    one = dep("gpt3-6.7b", acc="A100-SXM-80GB", eng="fastertransformer", fmt="fp16", tp=1)
    four = dep("gpt3-6.7b", acc="A100-SXM-80GB", eng="fastertransformer", fmt="fp16", tp=4)
    kw = dict(batch=8, input_len=256, output_len=1)
    e, a = one.engine, one.arch
    per_tok = lambda tp: (  # noqa: E731
        e.context_buffers_h[0] * a.hidden[0]
        + (e.context_buffers_sharded_h[0] * a.hidden[0] + e.context_buffers_f[0] * a.ffn[0]) / tp
    )
    logits = lambda tp: 8 * a.lm_head_params[0] / a.hidden[0] / tp * 4.0  # noqa: E731
    scores = lambda tp: 2.0 * 8 * a.n_heads[0] / tp * 256.0**2 * 2.0  # noqa: E731
    g, b = e.buffer_growth[0], one.fmt.act_bytes[0]
    for d, tp in ((one, 1), (four, 4)):
        act = memory_estimate(d, **kw).activation_bytes[0]
        assert act == pytest.approx(g * 8 * 256 * per_tok(tp) * b + logits(tp) + scores(tp))


def _measured_allreduce_s(table: str, system: str, ranks: int, elements: int, **match) -> float:
    """One all-reduce latency from a measured table in data/reference/nccl, s."""
    import csv
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "data/reference/nccl" / table
    for r in csv.DictReader(path.open()):
        if (r["system"], r["op_name"], r["num_gpus"], r["message_size"]) == (
            system,
            "all_reduce",
            str(ranks),
            str(elements),
        ) and all(r[k] == v for k, v in match.items()):
            return float(r["latency"]) * 1e-3
    raise AssertionError("row not in the measured table")


@pytest.mark.parametrize("tp", [2, 4, 8])
def test_nccl_engine_allreduce_follows_the_measured_nccl_curve(tp):
    """FasterTransformer calls ncclAllReduce: a decode-sized all-reduce on A100 NVLink costs
    what nccl-tests measured (within the curve fit's error), whatever the calibrated
    per-call latency is."""
    from aidc.model.inference_comm import tp_allreduce_call_s

    d = dep("gpt3-6.7b", "A100-SXM-80GB", eng="fastertransformer", fmt="fp16", tp=tp)
    n = np.array([2.0 * 4096])  # 4096 fp16 elements (one token of a 4096-wide model)
    t = tp_allreduce_call_s(d, n)[0]
    nccl = _measured_allreduce_s("aiconfigurator_nccl.csv", "a100_sxm", tp, 4096)
    assert t == pytest.approx(nccl, rel=0.2)
    other = replace(d, eff=replace(d.eff, collective_latency_s=d.eff.collective_latency_s * 10))
    assert tp_allreduce_call_s(other, n)[0] == pytest.approx(t)


@pytest.mark.parametrize("tp", [2, 8])
def test_engine_allreduce_kernel_up_to_its_workspace_then_nccl(tp):
    """TensorRT-LLM runs its own one-/two-shot kernel up to 8 MB (measured: a few us on
    H100, far below NCCL's ~16 us at 8 ranks) and NCCL above."""
    from aidc.model.inference_comm import tp_allreduce_call_s, tp_allreduce_nccl_s

    d = dep("llama-3.3-70b", "H100-SXM", eng="tensorrt-llm", fmt="fp8", tp=tp)
    assert d.engine.custom_allreduce_max_bytes[0] == pytest.approx(8e6)
    small, large = np.array([2.0 * 4096]), np.array([64e6])
    own = _measured_allreduce_s(
        "aiconfigurator_custom_allreduce.csv", "h100_sxm", tp, 4096, framework="trtllm"
    )
    t_small = tp_allreduce_call_s(d, small)[0]
    assert t_small == pytest.approx(own, rel=0.25)
    assert t_small < tp_allreduce_nccl_s(d, small)[0]
    assert tp_allreduce_call_s(d, large)[0] == pytest.approx(tp_allreduce_nccl_s(d, large)[0])


def test_unrecorded_engine_allreduce_is_nccl_and_curveless_one_is_calibrated():
    """An engine whose all-reduce implementation is not recorded is timed as NCCL; a
    deployment built without measured curves keeps the calibrated alpha-beta form, whose
    per-call time moves with the fitted collective latency."""
    from aidc.model.inference_comm import tp_allreduce_call_s, tp_allreduce_nccl_s

    d = dep("llama-3.3-70b", "H100-SXM", eng="sglang", fmt="fp8", tp=4)
    assert CAT.software.get("sglang").allreduce is None
    n = np.array([16e3])
    assert tp_allreduce_call_s(d, n)[0] == pytest.approx(tp_allreduce_nccl_s(d, n)[0])
    bare = replace(d, nccl_allreduce=None, custom_allreduce=None)
    slower = replace(
        bare, eff=replace(bare.eff, collective_latency_s=bare.eff.collective_latency_s + 1e-4)
    )
    assert tp_allreduce_call_s(slower, n)[0] == pytest.approx(
        tp_allreduce_call_s(bare, n)[0] + 1e-4
    )


def test_engine_allreduce_kernel_needs_its_size_limit():
    from pydantic import ValidationError

    rec = CAT.software.get("tensorrt-llm").model_dump()
    rec["custom_allreduce_max_bytes"] = None
    with pytest.raises(ValidationError, match="custom_allreduce_max_mb"):
        type(CAT.software.get("tensorrt-llm")).model_validate(rec)
