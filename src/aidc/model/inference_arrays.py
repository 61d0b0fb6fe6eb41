"""Per-row deployment arrays the serving step model runs on.

Vectorised over rows (candidate designs or reference measurements): every field is an
aligned numpy array, and ``take(idx)`` selects rows. :class:`ArchArrays` holds the
transformer quantities (from :class:`aidc.catalog.schema.ModelArch`), :class:`FormatArrays`
the bytes per element of the serving format, :class:`EngineArrays` the engine's structural
facts (catalog ``software.yaml``), :class:`StepEfficiency` the calibrated efficiencies
(:mod:`aidc.catalog.inference_calibration`), and :class:`Deployment` bundles them with the
hardware, the parallelism and the measured kernel and collective curves. The step model
itself is :mod:`aidc.model.inference_step`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields

import numpy as np

from aidc.catalog.schema import ModelArch
from aidc.model.hardware import HardwareArrays
from aidc.model.network import CurveParams
from aidc.model.transformer import (
    attention_flops_per_query_key,
    dense_matmul_params,
    expert_params,
    kv_cache_bytes_per_token,
    lm_head_params,
    n_moe_layers,
    param_counts,
)


def _take(obj, idx):  # type: ignore[no-untyped-def]
    return type(obj)(**{f.name: getattr(obj, f.name)[idx] for f in fields(obj)})


@dataclass(frozen=True)
class ArchArrays:
    """Architecture quantities the step model needs, one row per candidate."""

    n_layers: np.ndarray
    hidden: np.ndarray
    n_heads: np.ndarray
    kv_heads: np.ndarray
    head_dim: np.ndarray
    ffn: np.ndarray  # dense MLP width (MoE: routed expert width in ``expert_ffn``)
    expert_ffn: np.ndarray
    dense_params: np.ndarray  # all layers, LM head excluded
    expert_params: np.ndarray  # one routed expert
    n_experts: np.ndarray
    experts_per_token: np.ndarray
    moe_layers: np.ndarray
    lm_head_params: np.ndarray
    embed_params: np.ndarray  # input embeddings plus an untied LM head
    input_embed_params: np.ndarray  # input (token and learned position) embeddings alone
    total_params: np.ndarray
    attn_flops_per_pair: np.ndarray  # all layers
    kv_elems_per_token: np.ndarray  # all layers, K and V
    gemm_io_per_token_layer: np.ndarray  # activation elements GEMMs read and write
    causal: np.ndarray  # bool
    mlp_up_mats: np.ndarray  # 2 for gated MLPs (gate and up), else 1

    @classmethod
    def from_archs(cls, archs: Sequence[ModelArch]) -> ArchArrays:
        def col(fn) -> np.ndarray:  # type: ignore[no-untyped-def]
            return np.array([float(fn(a)) for a in archs], dtype=float)

        def io(a: ModelArch) -> float:
            h, d = a.hidden_size, a.head_size
            qkv = (a.n_heads + 2 * a.kv_heads) * d
            up = (2 if a.gated_mlp else 1) * a.ffn_hidden_size
            return (h + qkv) + (a.n_heads * d + h) + (h + up) + (a.ffn_hidden_size + h)

        return cls(
            n_layers=col(lambda a: a.n_layers),
            hidden=col(lambda a: a.hidden_size),
            n_heads=col(lambda a: a.n_heads),
            kv_heads=col(lambda a: a.kv_heads),
            head_dim=col(lambda a: a.head_size),
            ffn=col(lambda a: a.ffn_hidden_size),
            expert_ffn=col(
                lambda a: (a.moe_ffn_hidden_size or a.ffn_hidden_size) if a.is_moe else 0
            ),
            dense_params=col(dense_matmul_params),
            expert_params=col(expert_params),
            n_experts=col(lambda a: a.n_experts),
            experts_per_token=col(lambda a: a.experts_per_token if a.is_moe else 0),
            moe_layers=col(n_moe_layers),
            lm_head_params=col(lambda a: lm_head_params(a) if a.kind == "decoder" else 0.0),
            embed_params=col(lambda a: param_counts(a).embedding + param_counts(a).lm_head),
            input_embed_params=col(lambda a: param_counts(a).embedding),
            total_params=col(lambda a: param_counts(a).total),
            attn_flops_per_pair=col(attention_flops_per_query_key),
            kv_elems_per_token=col(lambda a: kv_cache_bytes_per_token(a, 1.0)),
            gemm_io_per_token_layer=col(io),
            causal=np.array([a.kind == "decoder" for a in archs], dtype=bool),
            mlp_up_mats=col(lambda a: 2 if a.gated_mlp else 1),
        )

    def take(self, idx: np.ndarray) -> ArchArrays:
        return _take(self, idx)


@dataclass(frozen=True)
class FormatArrays:
    """Bytes per weight / activation / KV element and the GEMM FLOP factor (2:4 sparsity)."""

    weight_bytes: np.ndarray
    embed_bytes: np.ndarray  # embedding and LM head (kept at 16 bit by quantizers)
    act_bytes: np.ndarray
    kv_bytes: np.ndarray
    gemm_flop_factor: np.ndarray
    quant_kernels_per_layer: np.ndarray
    unpacked_weights: np.ndarray  # bool: packed 4-bit weights widened in the GEMM loop

    def take(self, idx: np.ndarray) -> FormatArrays:
        return _take(self, idx)


# EngineArrays.kv_policy codes
KV_EXACT, KV_FREE_FRACTION, KV_TOTAL_FRACTION = 0, 1, 2


@dataclass(frozen=True)
class EngineArrays:
    """Structural engine facts (catalog ``software.yaml``), one row per candidate."""

    kernels_per_layer: np.ndarray
    host_s_per_kernel: np.ndarray
    host_s_per_seq: np.ndarray  # exposed host time per sequence per step (x86); NaN: calibrated
    fused_attention: np.ndarray  # bool, at this precision
    context_fused_attention: np.ndarray  # bool: a decoder's prompt pass is fused too
    elementwise_passes_h: np.ndarray  # passes over T x hidden per layer
    elementwise_passes_f: np.ndarray  # passes over T x ffn per layer
    remove_padding: np.ndarray  # bool: packs variable-length encoder batches
    kv_cache: np.ndarray  # bool: False recomputes the context at every decode step
    max_batch: np.ndarray  # concurrent sequences cap
    max_num_tokens: np.ndarray  # tokens per step cap (chunked prefill budget)
    kv_policy: np.ndarray  # KV_EXACT, KV_FREE_FRACTION (share of free), KV_TOTAL_FRACTION
    kv_fraction: np.ndarray
    kv_block_tokens: np.ndarray
    runtime_memory_bytes: np.ndarray
    kv_static_tokens: np.ndarray  # KV allocated per sequence for at least this many tokens
    context_buffers_h: np.ndarray  # T x hidden prefill buffers, whole on every TP rank
    context_buffers_sharded_h: np.ndarray  # T x hidden / tp prefill buffers
    context_buffers_f: np.ndarray  # T x ffn / tp prefill buffers
    buffer_growth: np.ndarray  # request-sized KV and prefill buffers allocated this much larger
    replicated_embeddings: np.ndarray  # bool: embedding and LM head whole on every rank
    # TP all-reduces up to this size run the engine's own kernel, larger ones NCCL (both
    # timed by measured curves): 0 for engines that call NCCL at every size
    custom_allreduce_max_bytes: np.ndarray
    # bool: decode attention loads a KV head once for its query heads (else once per query head)
    grouped_decode_attention: np.ndarray

    def take(self, idx: np.ndarray) -> EngineArrays:
        return _take(self, idx)


@dataclass(frozen=True)
class StepEfficiency:
    """Empirical efficiencies (calibration data), SI units."""

    compute: np.ndarray  # e_max: fraction of dense peak for large GEMMs
    gemm_half_ridge: np.ndarray  # k_ridge: M_half as a fraction of the ridge-point rows
    memory_bw: np.ndarray  # fraction of memory bandwidth achieved when streaming
    attention: np.ndarray  # share of the measured fused-attention curve reached
    kernel_gap_s: np.ndarray  # GPU time floor per kernel
    step_overhead_s: np.ndarray  # per generation step
    seq_overhead_s: np.ndarray  # per sequence in a generation step (host bookkeeping)
    collective_latency_s: np.ndarray  # software latency per all-reduce / send
    dequant_overhead: np.ndarray  # GEMM math time added to widen packed 4-bit weights
    expert: np.ndarray  # routed-expert GEMM speed relative to a dense GEMM of that shape
    memory_overhead_bytes: np.ndarray  # NaN: use the engine's runtime_memory_bytes

    def take(self, idx: np.ndarray) -> StepEfficiency:
        return _take(self, idx)


@dataclass(frozen=True)
class Deployment:
    """A serving configuration: model, hardware, format, engine, efficiencies, parallelism."""

    arch: ArchArrays
    hw: HardwareArrays  # peak_flops_per_s at the format's compute precision
    attn_peak_flops_per_s: np.ndarray  # attention math runs at >= 16 bit
    fmt: FormatArrays
    engine: EngineArrays
    eff: StepEfficiency
    tp: np.ndarray
    pp: np.ndarray
    gemm_n_half: np.ndarray | None = None  # GEMM output columns at half efficiency (kernel data)
    gemm_k_half: np.ndarray | None = None  # GEMM inner dimension at half efficiency
    # bool: attention, dense MLPs and shared experts replicated on every TP rank, each rank
    # attending its own requests (MoE attention data parallelism); None: all False
    attention_dp: np.ndarray | None = None
    # e_max of the format's GEMMs relative to 16-bit ones (kernel data); None: all 1
    gemm_relative_max: np.ndarray | None = None
    # host CPU time of a serving step relative to an x86 server host; None: all 1
    host_overhead_factor: np.ndarray | None = None
    # measured fused-attention curve of the device (kernel data, 16-bit, head dim 128):
    # e_max and the causal sequence length at half of it; None: the calibrated attention
    # factor is taken as the share of the attention peak itself
    attn_max_efficiency: np.ndarray | None = None
    attn_seq_half: np.ndarray | None = None
    # measured all-reduce curves of the scale-up link (arrays): NCCL's and the engine's own
    # kernel's (NaN rows: none); None: all-reduces take the calibrated alpha-beta form
    nccl_allreduce: CurveParams | None = None
    custom_allreduce: CurveParams | None = None

    def __len__(self) -> int:
        return len(self.tp)

    def take(self, idx: np.ndarray) -> Deployment:
        return Deployment(
            arch=self.arch.take(idx),
            hw=self.hw.take(idx),
            attn_peak_flops_per_s=self.attn_peak_flops_per_s[idx],
            fmt=self.fmt.take(idx),
            engine=self.engine.take(idx),
            eff=self.eff.take(idx),
            tp=self.tp[idx],
            pp=self.pp[idx],
            gemm_n_half=_take_optional(self.gemm_n_half, idx),
            gemm_k_half=_take_optional(self.gemm_k_half, idx),
            attention_dp=_take_optional(self.attention_dp, idx),
            gemm_relative_max=_take_optional(self.gemm_relative_max, idx),
            host_overhead_factor=_take_optional(self.host_overhead_factor, idx),
            attn_max_efficiency=_take_optional(self.attn_max_efficiency, idx),
            attn_seq_half=_take_optional(self.attn_seq_half, idx),
            nccl_allreduce=_take_curve(self.nccl_allreduce, idx),
            custom_allreduce=_take_curve(self.custom_allreduce, idx),
        )


def _take_curve(c: CurveParams | None, idx: np.ndarray) -> CurveParams | None:
    return None if c is None else CurveParams(*(np.asarray(v)[idx] for v in c.values()))


def _take_optional(x: np.ndarray | None, idx: np.ndarray) -> np.ndarray | None:
    """``x[idx]``, or None for a column the deployment leaves at its default."""
    return None if x is None else x[idx]
