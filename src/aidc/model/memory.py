"""Memory per device of a training step: model states, activations, buffers.

Model states (Rajbhandari et al. 2020, "ZeRO", arXiv 1910.02054, sec. 3.1 and 5):

* compute-precision weights ``w`` bytes/param (2 for bf16/fp16), gradients ``g`` bytes/param
  (4 when accumulated in fp32, as Megatron-LM's ``main_grad``, DeepSpeed's BF16 optimizer
  and FSDP's fp32 sharded gradients do), fp32 master weights (4 bytes/param when the
  compute precision is narrower than fp32) and optimizer states
  (:func:`optimizer_state_bytes_per_param`);
* ZeRO stage 1 shards master weights and optimizer states over the ``dp`` data-parallel
  ranks, stage 2 also gradients, stage 3 (FSDP FULL_SHARD) also the weights: then the
  fp32 master *is* the sharded parameter and the compute-precision copy exists only for
  the layers being computed (``prefetch_layers`` unsharded layers).

Activations per layer (Korthikanti et al. 2022, "Reducing Activation Recomputation in
Large Transformer Models", arXiv 2205.05198, sec. 4, eq. 1-2): for a GPT block with
``f = 4h``, no GQA and 16-bit activations, ``s b h (34 + 5 a s / h)`` bytes, of which
``10 s b h`` stay replicated under tensor parallelism unless sequence parallelism shards
them: ``s b h (10 + 24/t + 5 a s/(h t))`` (TP) and ``s b h (34/t + 5 a s/(h t))`` (TP+SP).
:func:`activation_bytes_per_token_layer` derives the same terms for any head count,
GQA, gated MLP and MoE, so that those figures are special cases (tests check them).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from aidc.catalog.schema import ModelArch
from aidc.model.transformer import n_moe_layers, param_counts

ArrayLike = np.ndarray | float

OPTIMIZERS = ("sgd", "momentum", "rmsprop", "adam", "adamw", "adafactor", "adam8bit")

# Per-parameter state tensors each optimizer keeps (PyTorch semantics):
# SGD without momentum keeps nothing; SGD with momentum one momentum buffer; RMSprop one
# running average of squared gradients (``square_avg``; no momentum by default); Adam and
# AdamW two moments (``exp_avg``, ``exp_avg_sq``). They are stored in the parameter's
# dtype, so an fp32 parameter costs 4 bytes per tensor.
_STATE_TENSORS: dict[str, float] = {
    "sgd": 0.0,
    "momentum": 1.0,
    "rmsprop": 1.0,
    "adam": 2.0,
    "adamw": 2.0,
}
ADAM8BIT_BLOCK = 2048
"""bitsandbytes 8-bit Adam: two 1-byte moments plus one fp32 absmax per 2048-value block
(Dettmers et al. 2022, "8-bit Optimizers via Block-wise Quantization", arXiv 2110.02861)."""


def optimizer_state_bytes_per_param(
    optimizer: str, precision_bytes: float, *, matrix_dim: float | None = None
) -> float:
    """Bytes of optimizer state per parameter, *excluding* fp32 master weights.

    ``precision_bytes`` is the bytes per element of the state (the dtype of the
    parameters the optimizer updates: 4 for fp32 master weights). Plain SGD: 0;
    SGD with momentum: ``1 x p``; RMSprop: ``1 x p``; Adam/AdamW: ``2 x p`` (8 bytes for
    fp32); 8-bit Adam: ``2 x 1 + 4 x 2/2048`` bytes whatever ``p``; Adafactor (Shazeer &
    Stern 2018, arXiv 1804.04235) factors the second moment of an ``r x c`` matrix into a
    row and a column vector, ``(r + c) / (r c) x p`` per parameter: give ``matrix_dim``
    for square-ish ``d x d`` matrices (``2 p / d``); without it the state counts as 0.
    """
    opt = optimizer.lower()
    if opt in _STATE_TENSORS:
        return _STATE_TENSORS[opt] * precision_bytes
    if opt == "adam8bit":
        return 2.0 * 1.0 + 2.0 * 4.0 / ADAM8BIT_BLOCK
    if opt == "adafactor":
        return 2.0 * precision_bytes / matrix_dim if matrix_dim else 0.0
    raise ValueError(f"optimizer must be one of {', '.join(OPTIMIZERS)}; got {optimizer!r}")


FP32_GRAD_ACCUMULATION_BYTES = 4.0
"""Gradient bytes per parameter when gradients accumulate in an fp32 buffer that replaces
the 16-bit ``.grad`` (Megatron-Core's ``main_grad``, FSDP's fp32 reduce): the default."""
SEPARATE_FP32_GRAD_BUFFER_BYTES = 6.0
"""Gradient bytes per parameter when the 16-bit ``.grad`` of every parameter is kept next
to a full-size fp32 accumulation buffer it is added into after the backward pass
(DeepSpeed's ``BF16_Optimizer``: ``fp32_groups_gradients_flat`` spans the whole unpartitioned
parameter group; deepspeed/runtime/bf16_optimizer.py)."""


def master_weight_bytes_per_param(compute_precision_bytes: float) -> float:
    """fp32 master copy kept by mixed-precision training (Micikevicius et al. 2018)."""
    return 4.0 if compute_precision_bytes < 4.0 else 0.0


@dataclass(frozen=True)
class ModelStateBytes:
    """Per-device bytes of the model states (arrays, one per candidate)."""

    weights: np.ndarray
    grads: np.ndarray
    optimizer: np.ndarray  # master weights + optimizer states

    @property
    def total(self) -> np.ndarray:
        return self.weights + self.grads + self.optimizer


def model_state_bytes(
    params_per_device: ArrayLike,
    dp: ArrayLike,
    zero_stage: ArrayLike,
    *,
    optimizer: str,
    weight_bytes: float,
    grad_bytes: float,
    params_per_layer_device: ArrayLike = 0.0,
    prefetch_layers: float = 2.0,
    matrix_dim: float | None = None,
) -> ModelStateBytes:
    """Weights, gradients and optimizer states per device under ZeRO stage 0-3.

    ``params_per_device`` is this device's share after tensor and pipeline splitting
    (before data-parallel sharding). Stage 3 keeps ``prefetch_layers`` unsharded layers
    (``params_per_layer_device`` each) in compute precision for the forward/backward.
    """
    p = np.asarray(params_per_device, dtype=float)
    dp = np.maximum(np.asarray(dp, dtype=float), 1.0)
    z = np.asarray(zero_stage)
    master = master_weight_bytes_per_param(weight_bytes)
    state = optimizer_state_bytes_per_param(
        optimizer, 4.0 if master else weight_bytes, matrix_dim=matrix_dim
    )
    opt = p * (master + state)
    opt = np.where(z >= 1, opt / dp, opt)
    grads = p * grad_bytes
    grads = np.where(z >= 2, grads / dp, grads)
    # Stage 3: the sharded fp32 master is the parameter; only the working layers exist
    # in compute precision. Without a master (fp32 training) the weights are sharded.
    working = np.asarray(params_per_layer_device, dtype=float) * prefetch_layers * weight_bytes
    sharded_w = (p / dp) * weight_bytes if not master else 0.0
    weights = np.where(z >= 3, sharded_w + np.minimum(working, p * weight_bytes), p * weight_bytes)
    return ModelStateBytes(weights=weights, grads=grads, optimizer=opt)


def activation_bytes_per_token_layer(
    arch: ModelArch,
    seq_len: ArrayLike,
    tp: ArrayLike,
    *,
    sequence_parallel: ArrayLike = True,
    flash_attention: ArrayLike = True,
    dropout: bool = False,
    act_bytes: float = 2.0,
    elementwise_recomputed: bool = False,
) -> np.ndarray:
    """Activation bytes a layer stores per token for the backward pass.

    Per token, in elements of ``act_bytes`` (16-bit: 2):

    * attention: input of QKV ``h``, Q ``n_q d``, K and V ``2 n_kv d``, input of the
      output projection ``n_q d``, and without FlashAttention the softmax output, its
      dropout mask (1 byte) and dropout output: ``2.5 a s`` elements (``5 a s`` bytes);
    * MLP: input ``h``, then ``2 f`` (non-gated: GeLU input and output) or ``3 f`` (gated:
      gate, up and their product), for MoE the routed copies ``k f_moe`` per token;
    * two layer norms: ``2 h``; dropout masks ``2 h`` bytes when the model uses dropout.

    Korthikanti's ``34 h + 5 a s`` bytes is this for ``f = 4h``, no GQA and dropout.
    Replicated under TP without sequence parallelism: both norms' inputs, the inputs of
    QKV and of the MLP, and the dropout masks (``10 h`` bytes in their notation).

    ``elementwise_recomputed`` gives the op-level selective checkpointing of current
    frameworks (PyTorch selective activation checkpointing, Megatron-Core's
    ``--recompute-modules``): matrix-multiply and attention outputs are kept, the
    element-wise results recomputed from them — the norm outputs (QKV and MLP inputs)
    and the activation function's output are not stored.
    """
    s = np.asarray(seq_len, dtype=float)
    t = np.maximum(np.asarray(tp, dtype=float), 1.0)
    h, d = float(arch.hidden_size), float(arch.head_size)
    q = arch.n_heads * d
    kv = 2.0 * arch.kv_heads * d
    moe_share = n_moe_layers(arch) / arch.n_layers
    f_moe = float(arch.moe_ffn_hidden_size or arch.ffn_hidden_size)
    routed = arch.experts_per_token + arch.n_shared_experts
    # Expert parallelism moves tokens to their experts: a rank still stores about
    # k routed copies per token it computes, so EP does not change this term.
    widths = (1.0 - moe_share) * arch.ffn_hidden_size + moe_share * f_moe * routed
    if elementwise_recomputed:  # keep the up-projection (and gate) outputs only
        mlp_inner = (2.0 if arch.gated_mlp else 1.0) * widths
        replicated_elems = 2.0 * h  # the two norms' inputs (residual stream)
    else:
        mlp_inner = (3.0 if arch.gated_mlp else 2.0) * widths
        replicated_elems = 4.0 * h  # norms' inputs, QKV input, MLP input
    scores = np.where(np.asarray(flash_attention, dtype=bool), 0.0, 2.5 * arch.n_heads * s)
    sharded = (q + kv + q + mlp_inner + scores) * act_bytes
    replicated = replicated_elems * act_bytes + (2.0 * h if dropout else 0.0)
    sp = np.asarray(sequence_parallel, dtype=bool)
    return np.where(sp, (sharded + replicated) / t, sharded / t + replicated)


RECOMPUTE_CODES = {"none": 0, "selective": 1, "full": 2}


def activation_bytes_per_layer(
    arch: ModelArch,
    seq_len: ArrayLike,
    tokens_per_micro_batch: ArrayLike,
    tp: ArrayLike,
    recompute: ArrayLike,
    *,
    sequence_parallel: ArrayLike = True,
    flash_attention: ArrayLike = True,
    dropout: bool = False,
) -> np.ndarray:
    """Stored activation bytes per layer per micro-batch, by recompute mode.

    ``none``: :func:`activation_bytes_per_token_layer`; ``selective``: without fused
    attention, Korthikanti's (sec. 5) — the attention-score terms are recomputed, not
    stored; with fused attention (which never stores scores) the op-level policy of
    current frameworks — element-wise results are recomputed; ``full``: only the layer
    input, ``h x 2`` bytes per token (divided by ``t`` with sequence parallelism).
    ``tokens_per_micro_batch`` is ``b x s / cp`` (context parallelism splits the sequence).
    """
    tokens = np.asarray(tokens_per_micro_batch, dtype=float)
    rc = np.asarray(recompute)
    none = activation_bytes_per_token_layer(
        arch,
        seq_len,
        tp,
        sequence_parallel=sequence_parallel,
        flash_attention=flash_attention,
        dropout=dropout,
    )
    kw = dict(sequence_parallel=sequence_parallel, flash_attention=True, dropout=dropout)
    korthikanti = activation_bytes_per_token_layer(arch, seq_len, tp, **kw)
    op_level = activation_bytes_per_token_layer(
        arch, seq_len, tp, **kw, elementwise_recomputed=True
    )
    selective = np.where(np.asarray(flash_attention, dtype=bool), op_level, korthikanti)
    t = np.maximum(np.asarray(tp, dtype=float), 1.0)
    layer_input = 2.0 * arch.hidden_size / np.where(np.asarray(sequence_parallel, bool), t, 1.0)
    per_token = np.where(rc == 2, layer_input, np.where(rc == 1, selective, none))
    return per_token * tokens


def pipeline_in_flight_micro_batches(
    pp: ArrayLike, n_micro_batches: ArrayLike, virtual_stages: ArrayLike = 1.0
) -> np.ndarray:
    """Micro-batches whose activations the first pipeline stage holds at peak (1F1B).

    One-forward-one-backward keeps ``min(p, m)`` micro-batches in flight on stage 1;
    the interleaved schedule with ``v`` model chunks per device holds
    ``p (1 + (p-1)/(p v))`` layer-stage's worth (Korthikanti et al. 2022, sec. 4.2.3).
    """
    p = np.maximum(np.asarray(pp, dtype=float), 1.0)
    m = np.maximum(np.asarray(n_micro_batches, dtype=float), 1.0)
    v = np.maximum(np.asarray(virtual_stages, dtype=float), 1.0)
    inter = np.where(v > 1, 1.0 + (p - 1.0) / (p * v), 1.0)
    return np.minimum(p, m) * inter


LOGITS_BYTES_PER_ELEMENT = 6.0
"""16-bit logits (2 B) plus the fp32 buffer a fused or vocabulary-parallel cross-entropy
works in (4 B), which its gradient reuses (Megatron's vocabulary-parallel cross-entropy);
a loss taken on an fp32 copy through PyTorch's log-softmax holds more
(:data:`UNFUSED_LOSS_BYTES_PER_ELEMENT`)."""


UNFUSED_LOSS_BYTES_PER_ELEMENT = 12.0
"""A loss taken as ``F.cross_entropy(logits.float(), labels)`` (torchtitan's ``loss_fn``):
the forward holds the 16-bit logits, their fp32 copy and the fp32 log-softmax it saves
(10 B); the backward, after the training loop drops the logits (``del pred`` before
``loss.backward()``), holds that saved output, its gradient and the input gradient, all
fp32 (12 B)."""


def logits_bytes(
    tokens_per_micro_batch: ArrayLike,
    vocab_size: float,
    tp: ArrayLike,
    bytes_per_element: float = LOGITS_BYTES_PER_ELEMENT,
) -> np.ndarray:
    """Peak bytes of the LM head's output and the loss on it on the last stage,
    ``tokens x V / t x b`` (``b``: :data:`LOGITS_BYTES_PER_ELEMENT` for a fused or
    vocabulary-parallel cross-entropy, :data:`UNFUSED_LOSS_BYTES_PER_ELEMENT` for an fp32
    copy through PyTorch's log-softmax), vocabulary split over TP ranks."""
    t = np.maximum(np.asarray(tp, dtype=float), 1.0)
    return np.asarray(tokens_per_micro_batch, dtype=float) * vocab_size / t * bytes_per_element


def layers_per_stage(n_layers: int, pp: ArrayLike, vp: ArrayLike = 1.0) -> np.ndarray:
    """Transformer layers on the busiest pipeline stage, ``ceil(L / pp)``; with ``vp``
    interleaved chunks per device, ``vp x ceil(L / (pp vp))``.

    Layers are whole: when ``pp`` (``pp x vp``) does not divide ``L`` some stages (chunks)
    hold one layer more (uniform partitioning in Megatron-LM and DeepSpeed), and a
    pipeline runs at the pace of, and needs the memory of, its most loaded stage
    (Narayanan et al. 2021, arXiv 2104.04473, sec. 2.2).
    """
    p = np.maximum(np.asarray(pp, dtype=float), 1.0)
    v = np.maximum(np.asarray(vp, dtype=float), 1.0)
    return np.maximum(np.ceil(n_layers / p - 1e-9), v * np.ceil(n_layers / (p * v) - 1e-9))


def params_per_device(
    arch: ModelArch, tp: ArrayLike, pp: ArrayLike, ep: ArrayLike = 1.0, vp: ArrayLike = 1.0
):
    """Parameters held by the most loaded device after TP, PP and EP splitting.

    Transformer layers split over ``pp`` stages (``ceil(L/pp)`` on the busiest one,
    :func:`layers_per_stage`); the embedding sits on the first
    stage and the LM head (if untied) on the last, so the heavier end stage is counted.
    Experts are split over ``ep`` ranks, everything else over ``tp``. Returns
    ``(params, params per layer)`` for the device.
    """
    pc = param_counts(arch)
    t = np.maximum(np.asarray(tp, dtype=float), 1.0)
    p = np.maximum(np.asarray(pp, dtype=float), 1.0)
    e = np.maximum(np.asarray(ep, dtype=float), 1.0)
    experts = pc.mlp_experts_total
    layer_dense = (pc.attention + pc.mlp_dense + pc.norms) / arch.n_layers
    layer_experts = experts / arch.n_layers
    per_layer = layer_dense / t + layer_experts / (t * e)
    layers = per_layer * layers_per_stage(arch.n_layers, p, vp)
    ends = np.where(p > 1, np.maximum(pc.embedding, pc.lm_head), pc.embedding + pc.lm_head)
    return layers + ends / t, per_layer


def expert_params_per_device(
    arch: ModelArch, tp: ArrayLike, pp: ArrayLike, ep: ArrayLike = 1.0, vp: ArrayLike = 1.0
):
    """The routed-expert part of :func:`params_per_device`: ``(params, params per layer)``.

    Expert parameters are replicated on ``dp / ep`` of the data-parallel ranks only (the
    expert-data-parallel group), so ZeRO shards their states over that many ranks, not
    over all of DP (Megatron-Core's expert data parallelism; DeepSpeed-MoE)."""
    pc = param_counts(arch)
    t = np.maximum(np.asarray(tp, dtype=float), 1.0)
    e = np.maximum(np.asarray(ep, dtype=float), 1.0)
    per_layer = pc.mlp_experts_total / arch.n_layers / (t * e)
    return per_layer * layers_per_stage(arch.n_layers, pp, vp), per_layer
