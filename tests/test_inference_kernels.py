"""Device-kind calibration level, GEMM shape factors and packed-weight widening."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from aidc.catalog.calibration import Calibration, CalibrationValue
from aidc.catalog.inference_calibration import efficiency_columns, inference_keys
from aidc.model.inference import continuous_generation
from aidc.model.inference_step import decode_work, layer_shape_factors, prefill_work, step_time
from aidc.model.serve_format import serve_format
from aidc.model.serving import step_cost
from tests.serving_helpers import CAL, CAT, deployment

dep = deployment


def test_device_kind_level_sits_between_engine_and_global():
    keys = inference_keys("compute_efficiency", "X", "vllm", "fp8", kind="cpu")
    assert keys[2:] == (
        "inference.vllm.compute_efficiency",
        "inference.cpu.compute_efficiency",
        "inference.compute_efficiency",
    )
    assert "inference.cpu.compute_efficiency" not in inference_keys(
        "compute_efficiency", "X", "vllm", "fp8"
    )


def test_cpu_kind_value_reaches_cpu_rows_only():
    over = Calibration(
        name="t",
        values={
            "inference.cpu.compute_efficiency": CalibrationValue(
                value=0.123, provenance="assumed", source="test"
            )
        },
    )
    cal = CAL.merged(over)
    cols = efficiency_columns(cal, [("nope", "nope", "fp16", "cpu"), ("nope", "nope", "fp16")])
    assert cols["compute"][0] == pytest.approx(0.123)
    assert cols["compute"][1] != pytest.approx(0.123)


def test_narrow_experts_keep_less_of_the_peak_on_fp8_kernels():
    small = dep("qwen3-30b-a3b", "B200", "tensorrt-llm", "fp8")
    dense_70b = dep("llama-3.3-70b", "B200", "tensorrt-llm", "fp8")
    _, expert = layer_shape_factors(small)
    dense, _ = layer_shape_factors(dense_70b)
    assert 0.0 < expert[0] < dense[0] <= 1.0
    # without kernel data the factor is 1 (CPUs, FP32)
    bare = replace(small, gemm_n_half=None, gemm_k_half=None)
    assert np.all(np.concatenate(layer_shape_factors(bare)) == 1.0)
    assert np.all(
        np.concatenate(
            layer_shape_factors(dep("llama-3.2-1b", "Snapdragon-8-Gen3-CPU", "executorch", "bf16"))
        )
        == 1.0
    )


def test_packed_4bit_weights_slow_compute_bound_prefill_not_decode_bandwidth():
    d = dep("llama-3.2-1b", "Snapdragon-8-Gen3-CPU", "executorch", "w4a8")
    none = replace(d, eff=replace(d.eff, dequant_overhead=np.zeros(1)))
    pre = prefill_work(1.0, 256.0)
    assert step_time(d, pre).stage_s[0] > 1.3 * step_time(none, pre).stage_s[0]
    # more overhead never makes a step faster
    more = replace(d, eff=replace(d.eff, dequant_overhead=d.eff.dequant_overhead * 2))
    assert step_time(more, pre).stage_s[0] >= step_time(d, pre).stage_s[0]
    # a format without packed weights ignores it
    b = dep("llama-3.2-1b", "Snapdragon-8-Gen3-CPU", "executorch", "bf16")
    b2 = replace(b, eff=replace(b.eff, dequant_overhead=np.full(1, 2.0)))
    assert step_time(b2, pre).stage_s[0] == pytest.approx(step_time(b, pre).stage_s[0])


def test_static_kv_cache_is_held_whole_and_fp32_for_dynamic_quant_on_executorch():
    from aidc.model.inference_memory import memory_estimate

    q = dep("llama-3.2-1b", "Snapdragon-8-Gen3-CPU", "executorch", "w4a8")
    assert q.fmt.kv_bytes[0] == 4.0  # the 8da4w export runs in fp32
    b = dep("llama-3.2-1b", "Snapdragon-8-Gen3-CPU", "executorch", "bf16")
    assert b.fmt.kv_bytes[0] == 2.0  # no dynamic quantization: the format's own width
    static = CAT.software.get("executorch").kv_static_tokens
    short = memory_estimate(q, batch=1.0, input_len=64.0, output_len=64.0)
    assert short.kv_bytes[0] == pytest.approx(static * short.kv_bytes_per_token[0])
    long = memory_estimate(q, batch=1.0, input_len=3000.0, output_len=1000.0)
    assert long.kv_bytes[0] == pytest.approx(4000.0 * long.kv_bytes_per_token[0])
    # an engine without a static cache holds only the request's tokens (times the growth
    # with which it re-makes a too-small cache: FasterTransformer's 1.2)
    g = dep("llama-3.2-1b", "A100-SXM-80GB", "fastertransformer", "int8")
    assert g.fmt.kv_bytes[0] == 2.0
    m = memory_estimate(g, batch=1.0, input_len=64.0, output_len=64.0)
    growth = g.engine.buffer_growth[0]
    assert growth == 1.2
    assert m.kv_bytes[0] == pytest.approx(128.0 * growth * m.kv_bytes_per_token[0])


def test_w4a8_weights_carry_an_fp32_scale_per_32():
    assert serve_format("w4a8").weight_bytes == pytest.approx(0.5 + 4.0 / 32.0)


def test_unfused_attention_runs_at_gemm_efficiency_with_short_head_dim_penalty():
    from aidc.model.inference_step import (
        attention_efficiency,
        encoder_work,
        fused_attention_efficiency,
    )

    fused = dep("bert-base", "A100-SXM-80GB", "fastertransformer", "fp16")
    unfused = dep("bert-base", "A100-SXM-80GB", "fastertransformer", "tf32")
    work = encoder_work(np.ones(1), np.full(1, 384.0), np.full(1, 384.0), np.zeros(1, bool))
    assert attention_efficiency(fused, work)[0] == pytest.approx(
        fused_attention_efficiency(fused, work)[0]
    )
    e = attention_efficiency(unfused, work)[0]
    # two batched GEMMs with k = 64 or n = 64: below the large-GEMM efficiency
    assert 0.0 < e < unfused.eff.compute[0]
    # SIMT fp32 GEMMs carry no tile data: the plain GEMM efficiency
    f32 = dep("bert-base", "A100-SXM-80GB", "fastertransformer", "fp32")
    assert attention_efficiency(f32, work)[0] == pytest.approx(f32.eff.compute[0])


def test_fp4_gemms_keep_less_of_their_peak_than_16_bit_ones():
    """Measured NVFP4 GEMMs on a B200 reach a smaller share of the FP4 peak than BF16
    GEMMs of the BF16 peak (kernel_efficiency.yaml): the serving model's e_max follows."""
    fp4 = dep("llama-3.3-70b", "B200", "tensorrt-llm", "fp4")
    bf16 = dep("llama-3.3-70b", "B200", "tensorrt-llm", "bf16")
    assert 0.5 < fp4.gemm_relative_max[0] < 0.9
    assert bf16.gemm_relative_max[0] == 1.0
    cpu = dep("llama-3.2-1b", "Snapdragon-8-Gen3-CPU", "executorch", "bf16")
    assert cpu.gemm_relative_max[0] == 1.0
    # a compute-bound prefill on FP4 is slowed by exactly that ratio (GEMM part)
    work = prefill_work(8.0, 4096.0)
    flat = replace(fp4, gemm_relative_max=None)
    assert step_time(fp4, work).gemm_s[0] > step_time(flat, work).gemm_s[0] * 1.2


def test_grace_hosted_devices_pay_more_host_time_per_step():
    """GB200's Grace host runs PyTorch host code ~2.75x slower than an x86 DGX host
    (catalog host_overhead_factor); the per-step host overhead scales with it."""
    gb = dep("llama-3.3-70b", "GB200", "tensorrt-llm", "fp4")
    b = dep("llama-3.3-70b", "B200", "tensorrt-llm", "fp4")
    assert gb.host_overhead_factor[0] == pytest.approx(2.75)
    assert b.host_overhead_factor[0] == 1.0
    work = decode_work(64.0, 1024.0)
    as_x86 = replace(gb, host_overhead_factor=np.ones(1))
    assert step_time(gb, work).overhead_s[0] == pytest.approx(
        2.75 * step_time(as_x86, work).overhead_s[0]
    )


def test_engine_host_time_per_sequence_replaces_the_generic_one():
    """TensorRT-LLM records the host time its Python executor leaves exposed per sequence
    and step (software.yaml host_us_per_seq): it replaces the calibrated generic value,
    scales with the host factor, is shared by the ranks under attention data parallelism,
    and the simulator's linearised step (step_cost) charges the same per sequence."""

    def per_seq(d) -> float:  # type: ignore[no-untyped-def]
        one, many = decode_work(1.0, 1024.0), decode_work(257.0, 1024.0)
        return float((step_time(d, many).overhead_s - step_time(d, one).overhead_s)[0] / 256)

    trt = dep("llama-3.3-70b", "B200", "tensorrt-llm", "fp4", tp=4)
    fact = CAT.software.get("tensorrt-llm").host_s_per_seq
    assert fact is not None and fact > trt.eff.seq_overhead_s[0]
    assert per_seq(trt) == pytest.approx(fact)
    vllm = dep("llama-3.3-70b", "B200", "vllm", "fp8", tp=4)
    assert np.isnan(vllm.engine.host_s_per_seq[0])
    assert per_seq(vllm) == pytest.approx(vllm.eff.seq_overhead_s[0])
    gb = dep("llama-3.3-70b", "GB200", "tensorrt-llm", "fp4", tp=4)
    assert per_seq(gb) == pytest.approx(2.75 * fact)
    adp = replace(trt, attention_dp=np.array([True]))
    assert per_seq(adp) == pytest.approx(fact / 4)
    for d in (trt, gb, adp):
        cost = step_cost(d, ref_batch=64.0)
        assert cost.per_seq_s == pytest.approx(per_seq(d))
        fixed = d.eff.step_overhead_s[0] * d.host_overhead_factor[0]
        assert cost.fixed_s > fixed  # kernels and collectives besides


def test_attention_dp_ranks_each_schedule_up_to_the_batch_cap():
    """With data-parallel attention every TP rank schedules its own requests, so the
    engine's max batch (and token budget) holds per rank: tp x the cap in flight."""
    base = dep("qwen3-30b-a3b", "B200", "tensorrt-llm", "fp4", tp=8)
    capped = replace(base, engine=replace(base.engine, max_batch=np.array([16.0])))
    tp_only = continuous_generation(capped, input_len=128.0, output_len=128.0)
    adp = continuous_generation(
        replace(capped, attention_dp=np.array([True])), input_len=128.0, output_len=128.0
    )
    assert tp_only.batch[0] == 16.0
    assert adp.batch[0] == 8 * 16.0


def test_fastertransformer_gpt_context_attention_is_unfused_but_decode_and_bert_fused():
    """FasterTransformer fuses BERT's attention and GPT's decode attention (masked MHA), but
    runs a decoder's prompt pass with cuBLAS batched GEMMs and a softmax over the score
    matrix (software.yaml ``context_fused_attention: []``)."""
    from aidc.model.inference_memory import activation_bytes
    from aidc.model.inference_step import attention_efficiency, encoder_work, fused_attention

    ft = dep("llama-3.2-1b", "A100-SXM-80GB", "fastertransformer", "fp16")
    trt = dep("llama-3.2-1b", "A100-SXM-80GB", "tensorrt-llm", "fp16")
    bert = dep("bert-base", "A100-SXM-80GB", "fastertransformer", "fp16")
    prompt, step = prefill_work(8.0, 512.0), decode_work(8.0, 512.0)
    enc = encoder_work(np.ones(1), np.full(1, 384.0), np.full(1, 384.0), np.zeros(1, bool))
    assert not fused_attention(ft, prompt)[0]
    assert fused_attention(ft, step)[0] and fused_attention(bert, enc)[0]
    assert fused_attention(trt, prompt)[0]
    assert attention_efficiency(ft, prompt)[0] < ft.eff.compute[0]
    # the unfused prompt pass moves the score matrix through memory and holds it
    ctx_fused = replace(ft, engine=replace(ft.engine, context_fused_attention=np.ones(1, bool)))
    assert step_time(ft, prompt).attention_s[0] > step_time(ctx_fused, prompt).attention_s[0]
    one, tok, seq = np.ones(1), np.full(1, 512.0), np.full(1, 512.0)
    extra = activation_bytes(ft, one, tok, seq)[0] - activation_bytes(ctx_fused, one, tok, seq)[0]
    heads = CAT.models.get("llama-3.2-1b").n_heads
    assert extra == pytest.approx(2.0 * heads * 512.0 * 512.0 * 2.0)
