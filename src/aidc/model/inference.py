"""Inference latency, throughput and memory: LLM generation and encoder (BERT) services.

Built on the per-step model of :mod:`aidc.model.inference_step`. Vectorised: every
quantity is an array over rows (candidates or reference measurements).

* **Static batching** (FasterTransformer, Triton/TF-Serving style): a batch of ``B``
  prompts is prefilled in one pass, then decoded ``n_out - 1`` steps (the prefill produces
  the first token): ``e2e = t_prefill(B) + (n_out - 1) t_decode(B, c_mean)`` with the mean
  context ``c_mean = n_in + n_out / 2``. With pipeline parallelism the batch may be split
  into ``min(B, pp)`` micro-batches (FasterTransformer does so "to hide the bubble" and
  "adjusts the micro batch size automatically": the faster of split and unsplit is taken).
  Engines without a KV cache recompute the whole context at every decode step.
* **Continuous (in-flight) batching** (vLLM, TensorRT-LLM, SGLang): ``B`` requests share
  each iteration, ``B = min(KV capacity, engine cap, concurrency)``, the engine's caps
  (batch, token budget) holding per scheduled batch: per pipeline micro-batch and, with
  data-parallel attention, per attention rank; a request's prompt is processed in chunks
  of the engine's token budget. Over one generation cycle of ``B``
  requests: ``t_cycle = t_prefill(B n_in) + n_out t_round(B)``, output throughput
  ``B n_out / t_cycle``, TPOT ``t_cycle / n_out``. With ``pp`` stages, ``pp`` micro-batches
  of ``B / pp`` are in flight and every stage stays busy.
* **Encoders**: one pass over ``B`` sequences; with padding removal (Effective
  Transformer, FasterTransformer EFF-FT) the GEMMs see only real tokens.
* **Memory per device**: :mod:`aidc.model.inference_memory` (weights, KV cache, activations,
  the runtime's own; an exact KV allocation or a pool, which bounds concurrency).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from aidc.catalog.efficiency import (
    DEFAULT_ID,
    KernelEfficiency,
    load_kernel_efficiency,
    select_kernel_efficiency,
)
from aidc.catalog.loader import load_catalog
from aidc.catalog.schema import (
    Accelerator,
    CollectiveCurve,
    Link,
    ModelArch,
    Precision,
    SoftwareStack,
)
from aidc.model.hardware import hardware_arrays
from aidc.model.inference_arrays import (
    KV_EXACT,
    KV_FREE_FRACTION,
    KV_TOTAL_FRACTION,
    ArchArrays,
    Deployment,
    EngineArrays,
    FormatArrays,
    StepEfficiency,
)
from aidc.model.inference_memory import MemoryEstimate, attention_dp_share, memory_estimate
from aidc.model.inference_step import (
    StepWork,
    decode_work,
    encoder_work,
    pipelined_pass_s,
    prefill_work,
    step_time,
)
from aidc.model.network import CurveParams, curve_link
from aidc.model.serve_format import ServeFormat
from aidc.units import GIGA

_POLICY = {
    "exact": KV_EXACT,
    "free_fraction": KV_FREE_FRACTION,
    "total_fraction": KV_TOTAL_FRACTION,
}

GENERIC_ENGINE = {
    "kernels_per_layer": 12.0,
    "host_s_per_kernel": 0.0,
    "elementwise_passes_h": 10.0,
    "elementwise_passes_f": 2.0,
    "max_batch_size": 256.0,
    "max_num_tokens": 8192.0,
    "kv_memory_policy": "total_fraction",
    "kv_memory_fraction": 0.9,
    "kv_block_tokens": 16.0,
    "runtime_memory_bytes": 1.0 * GIGA,
    "kv_static_tokens": 0.0,
    # prefill activation buffers, in units of tokens x width: the layer input, QKV output and
    # attention output (hidden) plus the MLP up-projection and activation (ffn / tp)
    "context_buffers_h": 4.0,
    "context_buffers_sharded_h": 0.0,
    "context_buffers_f": 2.0,
    "buffer_growth": 1.0,
}
"""Assumed generic engine for records that give no serving facts: a fused C++ runtime
(FasterTransformer counts 6 GEMMs + 6 kernels per layer, docs/bert_guide.md), vLLM's
defaults for batching and memory (max_num_seqs 256, gpu_memory_utilization 0.9, block 16)."""

_LOW_PRECISION = {Precision.FP8, Precision.INT8, Precision.INT4, Precision.FP4}


def _get(stack: SoftwareStack | None, name: str) -> float:
    value = None if stack is None else getattr(stack, name)
    return float(GENERIC_ENGINE[name] if value is None else value)


def engine_arrays(
    stacks: Sequence[SoftwareStack | None], precisions: Sequence[Precision]
) -> EngineArrays:
    """Engine facts per row (``None``: the generic engine)."""
    policy = []
    for s in stacks:
        name = (s.kv_memory_policy if s is not None else None) or GENERIC_ENGINE["kv_memory_policy"]
        policy.append(_POLICY[str(name)])
    return EngineArrays(
        kernels_per_layer=np.array([_get(s, "kernels_per_layer") for s in stacks]),
        host_s_per_kernel=np.array([_get(s, "host_s_per_kernel") for s in stacks]),
        host_s_per_seq=np.array(
            [np.nan if s is None or s.host_s_per_seq is None else s.host_s_per_seq for s in stacks]
        ),
        fused_attention=np.array(
            [
                s is not None and p in s.fused_attention
                for s, p in zip(stacks, precisions, strict=True)
            ]
        ),
        context_fused_attention=np.array(
            [
                s is None or s.context_fused_attention is None or p in s.context_fused_attention
                for s, p in zip(stacks, precisions, strict=True)
            ]
        ),
        elementwise_passes_h=np.array([_get(s, "elementwise_passes_h") for s in stacks]),
        elementwise_passes_f=np.array([_get(s, "elementwise_passes_f") for s in stacks]),
        remove_padding=np.array([bool(s is not None and s.remove_padding) for s in stacks]),
        kv_cache=np.array([bool(s is None or s.kv_cache) for s in stacks]),
        max_batch=np.array([_get(s, "max_batch_size") for s in stacks]),
        max_num_tokens=np.array([_get(s, "max_num_tokens") for s in stacks]),
        kv_policy=np.array(policy, dtype=float),
        kv_fraction=np.array([_get(s, "kv_memory_fraction") for s in stacks]),
        kv_block_tokens=np.array([_get(s, "kv_block_tokens") for s in stacks]),
        runtime_memory_bytes=np.array([_get(s, "runtime_memory_bytes") for s in stacks]),
        kv_static_tokens=np.array([_get(s, "kv_static_tokens") for s in stacks]),
        context_buffers_h=np.array([_get(s, "context_buffers_h") for s in stacks]),
        context_buffers_sharded_h=np.array([_get(s, "context_buffers_sharded_h") for s in stacks]),
        context_buffers_f=np.array([_get(s, "context_buffers_f") for s in stacks]),
        buffer_growth=np.array([_get(s, "buffer_growth") for s in stacks]),
        replicated_embeddings=np.array(
            [bool(s is not None and s.replicated_embeddings) for s in stacks]
        ),
        custom_allreduce_max_bytes=np.array([_custom_allreduce_max_bytes(s) for s in stacks]),
        grouped_decode_attention=np.array(
            [s is None or s.grouped_decode_attention for s in stacks], dtype=bool
        ),
    )


def _custom_allreduce_max_bytes(stack: SoftwareStack | None) -> float:
    """Largest TP all-reduce the engine runs with its own kernel: the recorded workspace
    limit for an engine with its own kernel, 0 otherwise (NCCL at every size; engines
    whose implementation is not recorded are taken to use NCCL, torch.distributed's GPU
    backend)."""
    if stack is None or stack.allreduce in (None, "nccl"):
        return 0.0
    return float(stack.custom_allreduce_max_bytes or 0.0)


def allreduce_curves(
    accelerators: Sequence[Accelerator],
    engines: Sequence[SoftwareStack | None],
    records: Sequence[CollectiveCurve] | None = None,
) -> tuple[CurveParams, CurveParams]:
    """Measured all-reduce curves on each device's scale-up link (catalog
    ``collectives.yaml``; ``records`` default to the shipped ones), as aligned arrays:
    NCCL's, and the engine's own kernel's (NaN where the engine has none recorded or
    nothing was measured on that link). A link without a fitted curve takes the nearest
    fitted one (:func:`curve_link`)."""
    recs = {r.id: r for r in (load_catalog().collectives if records is None else records)}
    nan = (math.nan,) * 6

    def params(key: str | None) -> tuple[float, ...]:
        r = recs.get(key) if key else None
        if r is None:
            return nan
        return tuple(float(v) for v in CurveParams.of(r).values())

    nccl, own = [], []
    for acc, eng in zip(accelerators, engines, strict=True):
        nccl.append(params(f"{curve_link(acc.scaleup_link, 'all_reduce', recs)}-all-reduce"))
        impl = None if eng is None or eng.allreduce in (None, "nccl") else eng.allreduce
        op = f"{impl}-all_reduce"
        own.append(
            params(f"{curve_link(acc.scaleup_link, op, recs)}-{impl}-all-reduce" if impl else None)
        )

    def arrays(rows: list[tuple[float, ...]]) -> CurveParams:
        cols = np.array(rows, dtype=float).reshape(-1, 6)
        return CurveParams(*(cols[:, i] for i in range(6)))

    return arrays(nccl), arrays(own)


def gemm_shape_half_points(
    accelerators: Sequence[Accelerator],
    precisions: Sequence[Precision],
    records: Sequence[KernelEfficiency] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """``(n_half, k_half)`` of each device's GEMM curve at the compute precision (catalog
    ``kernel_efficiency.yaml``; ``records`` default to the shipped ones). Formats below
    8 bit without their own curve take the FP8 one (scaled low-precision GEMMs), others
    the 16-bit one. CPUs and FP32 (CUDA-core SGEMM, small tiles) get 0: the curves are
    tensor-core measurements, and no tile effect is modelled for them."""
    recs = load_kernel_efficiency() if records is None else records
    n_half, k_half = [], []
    for acc, p in zip(accelerators, precisions, strict=True):
        if acc.kind == "cpu" or p == Precision.FP32:
            n_half.append(0.0)
            k_half.append(0.0)
            continue
        rec = select_kernel_efficiency(recs, acc)
        curve = rec.gemm.get(p)
        if curve is None and p in _LOW_PRECISION:
            curve = rec.gemm.get(Precision.FP8)
        curve = curve or rec.gemm_for(p)
        n_half.append(curve.n_half)
        k_half.append(curve.k_half)
    return np.array(n_half, dtype=float), np.array(k_half, dtype=float)


def _kv_bytes(engine: SoftwareStack | None, fmt: ServeFormat) -> float:
    """KV-cache element width: the format's, or the engine's float width where it runs
    dynamically quantized integer formats (those with activation quantization kernels) in
    a wider float type (ExecuTorch's XNNPACK Llama recipes export 8da4w models with
    ``-d fp32``, so their cache is fp32)."""
    wide = None if engine is None else engine.dynamic_quant_kv_bytes
    if wide is not None and fmt.quant_kernels_per_layer > 0:
        return float(wide)
    return fmt.kv_bytes


def gemm_relative_max_efficiency(
    accelerators: Sequence[Accelerator],
    precisions: Sequence[Precision],
    records: Sequence[KernelEfficiency] | None = None,
) -> np.ndarray:
    """Share of its own peak a device's GEMMs reach at the compute precision, relative to
    the share its 16-bit GEMMs reach: ``e_max(p) / e_max(16 bit)`` of the measured curves
    (catalog ``kernel_efficiency.yaml``; NVFP4 on a B200 keeps 0.59 of its peak where
    BF16 keeps 0.75). The calibrated ``e_max`` is mostly fitted on 16-bit kernels, so a
    format whose kernels keep less of a larger nominal peak is slowed by this ratio.
    Formats below 8 bit without their own curve take the FP8 one; 16-bit formats, FP32,
    CPUs and devices without a low-precision curve get 1."""
    recs = load_kernel_efficiency() if records is None else records
    out = []
    for acc, p in zip(accelerators, precisions, strict=True):
        if acc.kind == "cpu" or p not in _LOW_PRECISION:
            out.append(1.0)
            continue
        rec = select_kernel_efficiency(recs, acc)
        curve = rec.gemm.get(p) or rec.gemm.get(Precision.FP8)
        wide = rec.gemm.get(Precision.BF16) or rec.gemm.get(Precision.FP16)
        out.append(curve.max_efficiency / wide.max_efficiency if curve and wide else 1.0)
    return np.array(out, dtype=float)


def attention_curves(
    accelerators: Sequence[Accelerator], records: Sequence[KernelEfficiency] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """``(e_max, s_half)`` of each device's measured fused-attention curve (16-bit causal
    prefill at head dim 128, catalog ``kernel_efficiency.yaml``; ``records`` default to
    the shipped ones), chosen as the GEMM curves are (:func:`select_kernel_efficiency`:
    the device's record, its family's, else ``default``, the medians of the measured
    records); a record without attention data takes the ``default`` record's curve. CPUs
    (any object with ``kind == "cpu"``, measured host CPUs included) get the ``default``
    record's ``e_max`` with ``s_half = 0``, a flat curve: the ramp is a GPU tile effect
    and no CPU kernel is measured, so the calibrated factor carries their attention speed."""
    recs = load_kernel_efficiency() if records is None else records
    default = next(r for r in recs if r.id == DEFAULT_ID).attention_for(Precision.BF16)
    if default is None:
        raise ValueError("kernel_efficiency.yaml: the 'default' record has no attention curve")
    e_max, s_half = [], []
    for acc in accelerators:
        if acc.kind == "cpu":
            e_max.append(default.max_efficiency)
            s_half.append(0.0)
            continue
        curve = select_kernel_efficiency(recs, acc).attention_for(Precision.BF16) or default
        e_max.append(curve.max_efficiency)
        s_half.append(curve.seq_half)
    return np.array(e_max, dtype=float), np.array(s_half, dtype=float)


def build_deployment(
    archs: Sequence[ModelArch],
    accelerators: Sequence[Accelerator],
    engines: Sequence[SoftwareStack | None],
    formats: Sequence[ServeFormat],
    *,
    tp: np.ndarray,
    pp: np.ndarray,
    links: dict[str, Link],
    efficiency: dict[str, np.ndarray],
    kernel_records: Sequence[KernelEfficiency] | None = None,
) -> Deployment:
    """Gather one row per (model, accelerator, engine, format, tp, pp).

    ``efficiency`` holds the :class:`StepEfficiency` fields as arrays (from
    :func:`aidc.catalog.inference_calibration.efficiency_columns`). A device without a
    fast path for the format's precision gets a NaN peak (callers treat it as infeasible).
    GEMM shape half-points and the fused-attention curves come from ``kernel_records``
    (default: the shipped records).
    """
    precs = [f.compute for f in formats]
    attn_max, attn_half = attention_curves(accelerators, kernel_records)
    n_half, k_half = gemm_shape_half_points(accelerators, precs, kernel_records)
    hw = hardware_arrays(accelerators, precs, links)
    nccl_curve, own_curve = allreduce_curves(accelerators, engines)
    attn = []
    for acc, p, peak in zip(accelerators, precs, hw.peak_flops_per_s, strict=True):
        if p in _LOW_PRECISION:
            half = acc.peak_for(Precision.BF16) or acc.peak_for(Precision.FP16)
            attn.append(min(half, peak) if half else peak)
        else:
            attn.append(peak)
    return Deployment(
        arch=ArchArrays.from_archs(archs),
        hw=hw,
        attn_peak_flops_per_s=np.array(attn, dtype=float),
        fmt=FormatArrays(
            weight_bytes=np.array([f.weight_bytes for f in formats]),
            embed_bytes=np.array([f.embed_bytes for f in formats]),
            act_bytes=np.array([f.act_bytes for f in formats]),
            kv_bytes=np.array([_kv_bytes(e, f) for e, f in zip(engines, formats, strict=True)]),
            gemm_flop_factor=np.array([f.gemm_flop_factor for f in formats]),
            quant_kernels_per_layer=np.array([f.quant_kernels_per_layer for f in formats]),
            unpacked_weights=np.array([f.unpacked_weights for f in formats], dtype=bool),
        ),
        engine=engine_arrays(engines, precs),
        eff=StepEfficiency(**{k: np.asarray(v, dtype=float) for k, v in efficiency.items()}),
        tp=np.asarray(tp, dtype=float),
        pp=np.asarray(pp, dtype=float),
        gemm_n_half=n_half,
        gemm_k_half=k_half,
        gemm_relative_max=gemm_relative_max_efficiency(accelerators, precs, kernel_records),
        host_overhead_factor=np.array([a.host_overhead_factor for a in accelerators], dtype=float),
        attn_max_efficiency=attn_max,
        attn_seq_half=attn_half,
        nccl_allreduce=nccl_curve,
        custom_allreduce=own_curve,
    )


# ---------------------------------------------------------------------------- generation


@dataclass(frozen=True)
class GenerationEstimate:
    """Per-request latencies and per-group throughput of a generation service."""

    batch: np.ndarray  # requests sharing the steps
    ttft_s: np.ndarray
    tpot_s: np.ndarray
    e2e_s: np.ndarray
    output_tokens_per_s: np.ndarray  # the whole TP x PP group
    requests_per_s: np.ndarray
    queue_s: np.ndarray  # waiting for a slot (closed loop beyond capacity)
    memory: MemoryEstimate

    input_len: np.ndarray

    @property
    def prefill_tokens_per_s(self) -> np.ndarray:
        """Prompt tokens per second of the first pass (the request's own prompt only)."""
        return self.input_len / self.ttft_s

    @property
    def decode_tokens_per_s_per_user(self) -> np.ndarray:
        return 1.0 / self.tpot_s


def _add(w1: StepWork, w2: StepWork) -> StepWork:
    return StepWork(
        tokens=w1.tokens + w2.tokens,
        qk_pairs=w1.qk_pairs + w2.qk_pairs,
        kv_read_tokens=w1.kv_read_tokens + w2.kv_read_tokens,
        logits_tokens=w1.logits_tokens + w2.logits_tokens,
    )


def static_generation(
    dep: Deployment,
    *,
    batch: np.ndarray | float,
    input_len: np.ndarray | float,
    output_len: np.ndarray | float,
) -> GenerationEstimate:
    """A static batch generated to the end (see the module docstring)."""
    b = np.asarray(batch, float) + 0.0 * dep.tp
    n_in = np.asarray(input_len, float) + 0.0 * dep.tp
    n_out = np.maximum(np.asarray(output_len, float) + 0.0 * dep.tp, 1.0)
    # micro-batches: FasterTransformer picks them per case; take the faster of none and pp
    m = np.minimum(b, dep.pp)

    def best_pass(work: StepWork) -> np.ndarray:
        return np.minimum(
            pipelined_pass_s(dep, work, np.ones_like(m)), pipelined_pass_s(dep, work, m)
        )

    ttft = best_pass(prefill_work(b, n_in))
    tpot = best_pass(decode_work(b, n_in + n_out / 2.0, dep.engine.kv_cache))
    e2e = ttft + (n_out - 1.0) * tpot
    mem = memory_estimate(dep, batch=b, input_len=n_in, output_len=n_out)
    return GenerationEstimate(
        batch=b,
        ttft_s=ttft,
        tpot_s=tpot,
        e2e_s=e2e,
        output_tokens_per_s=b * n_out / e2e,
        requests_per_s=b / e2e,
        queue_s=np.zeros_like(e2e),
        memory=mem,
        input_len=n_in,
    )


def continuous_generation(
    dep: Deployment,
    *,
    input_len: np.ndarray | float,
    output_len: np.ndarray | float,
    concurrency: np.ndarray | float = np.inf,
) -> GenerationEstimate:
    """Continuous batching with ``concurrency`` requests in the system (closed loop;
    ``inf``: an offline queue that keeps every slot busy). See the module docstring."""
    n_in = np.asarray(input_len, float) + 0.0 * dep.tp
    n_out = np.maximum(np.asarray(output_len, float) + 0.0 * dep.tp, 1.0)
    want = np.asarray(concurrency, float) + 0.0 * dep.tp
    probe = memory_estimate(
        dep, batch=np.minimum(want, dep.engine.max_batch), input_len=n_in, output_len=n_out
    )
    # the engine's caps (max batch, token budget) hold per scheduled batch: per pipeline
    # micro-batch (pp in flight) and, with data-parallel attention, per attention rank (each
    # of the tp ranks schedules its own requests into its own KV cache: TensorRT-LLM's
    # PyExecutor runs _schedule() on every rank and all-gathers the batch sizes)
    schedulers = dep.pp * np.where(attention_dp_share(dep) > 0, dep.tp, 1.0)
    slots = np.minimum(probe.max_concurrency, dep.engine.max_batch * schedulers)
    B = np.maximum(np.minimum(slots, want), 1.0)
    pp = dep.pp
    ctx = n_in + n_out / 2.0
    # iterations per generation cycle of B requests: one per output token, more when the
    # prompts do not fit the token budget alongside the decodes
    budget = np.maximum(dep.engine.max_num_tokens * schedulers, 1.0)
    iters = np.maximum(n_out, np.ceil(B * (n_in + n_out) / budget))
    dec_seqs = B * n_out / iters / pp  # per micro-batch and iteration
    pre_tokens = B * n_in / iters / pp
    mixed = _add(decode_work(dec_seqs, ctx), prefill_work(pre_tokens / n_in, n_in))
    st = step_time(dep, mixed)
    round_s = pp * (st.stage_s + st.lm_head_s + st.p2p_s + st.overhead_s)
    cycle = iters * round_s
    tpot = cycle / n_out
    # a new request's prompt rides in one pipelined pass with the others' work
    first = _add(prefill_work(1.0, n_in), decode_work(np.maximum(dec_seqs * pp - 1.0, 0.0), ctx))
    ttft_service = pipelined_pass_s(dep, first, np.ones_like(pp))
    # Little's law: B requests always in the system at B / cycle requests per second spend
    # ``cycle`` each on average; a request's own first pass can be shorter than the
    # iteration it waits through, so the per-request sum is bounded below by the cycle
    e2e_service = np.maximum(ttft_service + (n_out - 1.0) * tpot, cycle)
    req_per_s = B / cycle
    queue = np.where(want > B, np.maximum(want / req_per_s - e2e_service, 0.0), 0.0)
    queue = np.where(np.isfinite(want), queue, np.inf)
    mem = memory_estimate(dep, batch=B, input_len=n_in, output_len=n_out)
    return GenerationEstimate(
        batch=B,
        ttft_s=ttft_service + queue,
        tpot_s=tpot,
        e2e_s=e2e_service + queue,
        output_tokens_per_s=B * n_out / cycle,
        requests_per_s=req_per_s,
        queue_s=queue,
        memory=mem,
        input_len=n_in,
    )


# ------------------------------------------------------------------------------ encoders


@dataclass(frozen=True)
class EncoderEstimate:
    latency_s: np.ndarray  # one batch
    sequences_per_s: np.ndarray  # per replica
    memory: MemoryEstimate


def encoder_pass(
    dep: Deployment,
    *,
    batch: np.ndarray | float,
    seq_len: np.ndarray | float,
    real_len: np.ndarray | float | None = None,
) -> EncoderEstimate:
    """One encoder forward over ``batch`` sequences padded to ``seq_len`` whose real
    length is ``real_len`` (default: no padding). Engines that remove padding compute on
    real tokens only."""
    b = np.asarray(batch, float) + 0.0 * dep.tp
    s = np.asarray(seq_len, float) + 0.0 * dep.tp
    r = s if real_len is None else np.asarray(real_len, float) + 0.0 * dep.tp
    work = encoder_work(b, s, r, dep.engine.remove_padding)
    latency = pipelined_pass_s(dep, work, np.minimum(b, dep.pp))
    mem = memory_estimate(
        dep, batch=b, input_len=np.where(dep.engine.remove_padding, r, s), output_len=0.0
    )
    return EncoderEstimate(latency_s=latency, sequences_per_s=b / latency, memory=mem)
