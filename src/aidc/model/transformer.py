"""Parameters, FLOPs and bytes of a transformer, from its architecture.

Pure functions of a :class:`~aidc.catalog.schema.ModelArch`. Conventions:

* A matrix multiply of an ``m x k`` by ``k x n`` matrix costs ``2 m k n`` FLOP.
* Per layer, attention projections hold ``h * d * (2 n_q + 2 n_kv)`` weights (Q and O
  are ``h x n_q d``; K and V are ``h x n_kv d``) — GQA/MQA shrink K and V only.
* The MLP holds ``3 h f`` weights when gated (SwiGLU/GeGLU: gate, up, down) and
  ``2 h f`` otherwise. MoE layers hold ``n_experts`` such MLPs (width ``f_moe``) plus a
  router ``h x n_experts``; a token uses ``experts_per_token`` of them plus shared ones.
* Attention scores cost ``2 * 2 * n_q * d * ctx`` FLOP per token per layer (QK^T and
  the weighted sum of V) where ``ctx`` is the number of keys the token attends to.

References: Kaplan et al. 2020 (arXiv 2001.08361) Table 1; Narayanan et al. 2021
(arXiv 2104.04473) eq. 3; Korthikanti et al. 2022 (arXiv 2205.05198); Chowdhery et al.
2022 (PaLM, arXiv 2204.02311) appendix B for model FLOPs utilisation.
"""

from __future__ import annotations

from dataclasses import dataclass

from aidc.catalog.schema import ModelArch


@dataclass(frozen=True)
class ParamCounts:
    """Parameter counts by part (numbers of parameters, not bytes)."""

    embedding: float
    attention: float
    mlp_dense: float
    mlp_experts_total: float
    mlp_experts_active: float
    norms: float
    lm_head: float

    @property
    def total(self) -> float:
        return (
            self.embedding
            + self.attention
            + self.mlp_dense
            + self.mlp_experts_total
            + self.norms
            + self.lm_head
        )

    @property
    def active(self) -> float:
        """Parameters a single token touches (MoE: only the routed experts)."""
        return (
            self.embedding
            + self.attention
            + self.mlp_dense
            + self.mlp_experts_active
            + self.norms
            + self.lm_head
        )

    @property
    def matmul_active(self) -> float:
        """Active parameters that take part in matrix multiplies (no embedding lookup, norms)."""
        return self.attention + self.mlp_dense + self.mlp_experts_active + self.lm_head


def n_moe_layers(arch: ModelArch) -> int:
    if not arch.is_moe:
        return 0
    return arch.n_layers // arch.moe_layer_interval


def param_counts(arch: ModelArch) -> ParamCounts:
    h = arch.hidden_size
    d = arch.head_size
    L = arch.n_layers
    mlp_mats = 3 if arch.gated_mlp else 2
    attn = L * h * d * (2 * arch.n_heads + 2 * arch.kv_heads)
    n_moe = n_moe_layers(arch)
    n_dense = L - n_moe
    mlp_dense = n_dense * mlp_mats * h * arch.ffn_hidden_size
    f_moe = arch.moe_ffn_hidden_size or arch.ffn_hidden_size
    per_expert = mlp_mats * h * f_moe
    router = h * arch.n_experts if arch.is_moe else 0
    experts_total = n_moe * ((arch.n_experts + arch.n_shared_experts) * per_expert + router)
    experts_active = n_moe * (
        (arch.experts_per_token + arch.n_shared_experts) * per_expert + router
    )
    pos = arch.max_seq_len * h if arch.position_embedding == "learned" else 0
    embedding = arch.vocab_size * h + pos
    lm_head = 0 if arch.tied_embeddings else arch.vocab_size * h
    norms = (2 * L + 1) * h
    return ParamCounts(
        embedding=float(embedding),
        attention=float(attn),
        mlp_dense=float(mlp_dense),
        mlp_experts_total=float(experts_total),
        mlp_experts_active=float(experts_active),
        norms=float(norms),
        lm_head=float(lm_head),
    )


def attention_context(seq_len: float, causal: bool) -> float:
    """Average number of keys a query attends to in a sequence of ``seq_len`` tokens."""
    return (seq_len + 1) / 2 if causal else seq_len


def forward_flops_per_token(
    arch: ModelArch, seq_len: float, *, causal: bool | None = None, include_lm_head: bool = True
) -> float:
    """Forward FLOP per token at sequence length ``seq_len``.

    ``2 * matmul_active_params + 4 * L * n_q * d * ctx``; the LM head (or, for tied
    embeddings, the embedding matrix used as output projection) counts once per token.
    Encoders (BERT) have no LM head in serving: pass ``include_lm_head=False``.
    """
    pc = param_counts(arch)
    causal = arch.kind == "decoder" if causal is None else causal
    head = arch.vocab_size * arch.hidden_size if include_lm_head else 0.0
    matmul = pc.attention + pc.mlp_dense + pc.mlp_experts_active + head
    ctx = attention_context(seq_len, causal)
    attn_scores = 4.0 * arch.n_layers * arch.n_heads * arch.head_size * ctx
    return 2.0 * matmul + attn_scores


def training_flops_per_token(
    arch: ModelArch, seq_len: float, *, causal: bool | None = None
) -> float:
    """Model FLOP per trained token: forward + backward (2x forward) = 3x forward.

    This is the numerator of model FLOPs utilisation (MFU, Chowdhery et al. 2022 app. B):
    it does not count work repeated by activation recompute.
    """
    return 3.0 * forward_flops_per_token(arch, seq_len, causal=causal)


def attention_core_flops_per_token(
    arch: ModelArch, seq_len: float, *, causal: bool | None = None
) -> float:
    """Forward FLOP per token of the attention scores and the weighted sum of values.

    ``4 * L * n_q * d * ctx`` (QK^T and AV, 2 FLOP per multiply-add each); ``ctx`` is the
    mean number of keys a query sees (``(s+1)/2`` causal, ``s`` bidirectional).
    """
    causal = arch.kind == "decoder" if causal is None else causal
    ctx = attention_context(seq_len, causal)
    return 4.0 * arch.n_layers * arch.n_heads * arch.head_size * ctx


RECOMPUTE_MODES = ("none", "selective", "full")


def hardware_flops_per_token(
    arch: ModelArch, seq_len: float, recompute: str, *, causal: bool | None = None
) -> float:
    """FLOP the devices execute per trained token, including activation recompute (HFU).

    * ``none``: ``3 F`` (F = forward FLOP per token, LM head included);
    * ``selective`` (Korthikanti et al. 2022, sec. 5): the attention core is recomputed,
      ``3 F + A`` with ``A`` = :func:`attention_core_flops_per_token`;
    * ``full``: every transformer layer runs its forward twice, the LM head once:
      ``3 F + (F - 2 V h)``. This matches Narayanan et al. 2021 eq. 3,
      ``96 B s l h^2 (1 + s/6h + V/16lh)`` per iteration, for a GPT without GQA.
    """
    if recompute not in RECOMPUTE_MODES:
        raise ValueError(f"recompute must be one of {RECOMPUTE_MODES}, not {recompute!r}")
    fwd = forward_flops_per_token(arch, seq_len, causal=causal)
    if recompute == "none":
        return 3.0 * fwd
    if recompute == "selective":
        return 3.0 * fwd + attention_core_flops_per_token(arch, seq_len, causal=causal)
    head = 2.0 * arch.vocab_size * arch.hidden_size
    return 3.0 * fwd + (fwd - head)


@dataclass(frozen=True)
class GemmShape:
    """One weight matrix multiply of a layer: ``tokens x k`` times ``k x n``.

    ``tp_split`` says which dimension tensor parallelism divides (Megatron layout:
    ``"n"`` for column-parallel QKV/up projections, ``"k"`` for row-parallel output/down
    projections). ``tokens_per_token`` is how many rows each input token contributes
    (MoE experts: ``experts_per_token / n_experts`` per expert) and ``copies`` how many
    such matrices a layer holds (experts). ``layer_share`` is the fraction of layers that
    have this matrix (MoE layers every ``moe_layer_interval``).
    """

    name: str
    k: float
    n: float
    tp_split: str
    tokens_per_token: float = 1.0
    copies: float = 1.0
    layer_share: float = 1.0
    expert: bool = False

    def flops_per_token(self) -> float:
        """Forward FLOP per layer-averaged token: ``2 k n x rows per token x copies``."""
        return 2.0 * self.k * self.n * self.tokens_per_token * self.copies * self.layer_share


def layer_gemm_shapes(arch: ModelArch) -> tuple[GemmShape, ...]:
    """The weight GEMMs of one (layer-averaged) transformer block, Megatron layout.

    QKV: ``h x (n_q + 2 n_kv) d`` (GQA/MQA shrink K and V); output projection
    ``n_q d x h``; MLP ``h x f`` up (``h x 2f`` fused gate+up when gated) and ``f x h``
    down. MoE layers replace the MLP by ``n_experts`` experts of width ``f_moe`` (each
    sees ``experts_per_token / n_experts`` of the tokens on average) plus shared experts
    and a router. Summing :meth:`GemmShape.flops_per_token` over the result and over
    ``n_layers`` gives the matmul part of :func:`forward_flops_per_token` without the head.
    """
    h, d = float(arch.hidden_size), float(arch.head_size)
    up = 2.0 if arch.gated_mlp else 1.0
    shapes = [
        GemmShape("qkv", h, (arch.n_heads + 2 * arch.kv_heads) * d, "n"),
        GemmShape("attn_out", arch.n_heads * d, h, "k"),
    ]
    moe_share = n_moe_layers(arch) / arch.n_layers
    dense_share = 1.0 - moe_share
    if dense_share > 0:
        f = float(arch.ffn_hidden_size)
        shapes += [
            GemmShape("mlp_up", h, up * f, "n", layer_share=dense_share),
            GemmShape("mlp_down", f, h, "k", layer_share=dense_share),
        ]
    if moe_share > 0:
        f_moe = float(arch.moe_ffn_hidden_size or arch.ffn_hidden_size)
        e, k_tok = float(arch.n_experts), float(arch.experts_per_token)
        shapes += [
            GemmShape("router", h, e, "none", layer_share=moe_share),
            GemmShape("expert_up", h, up * f_moe, "n", k_tok / e, e, moe_share, True),
            GemmShape("expert_down", f_moe, h, "k", k_tok / e, e, moe_share, True),
        ]
        if arch.n_shared_experts:
            fs = f_moe * arch.n_shared_experts
            shapes += [
                GemmShape("shared_up", h, up * fs, "n", layer_share=moe_share),
                GemmShape("shared_down", fs, h, "k", layer_share=moe_share),
            ]
    return tuple(shapes)


def kv_cache_bytes_per_token(arch: ModelArch, bytes_per_element: float) -> float:
    """KV-cache bytes one token occupies across all layers: ``2 * L * n_kv * d * bytes``."""
    return 2.0 * arch.n_layers * arch.kv_heads * arch.head_size * bytes_per_element


def weight_bytes(arch: ModelArch, bytes_per_param: float) -> float:
    return param_counts(arch).total * bytes_per_param


# --- Inference helpers (added for the serving model; pure functions of the architecture) ---


def dense_matmul_params(arch: ModelArch) -> float:
    """Weights every token multiplies through, LM head excluded (attention, dense MLPs,
    shared experts and routers). Routed experts are counted by :func:`expert_params`."""
    pc = param_counts(arch)
    n_moe = n_moe_layers(arch)
    mlp_mats = 3 if arch.gated_mlp else 2
    f_moe = arch.moe_ffn_hidden_size or arch.ffn_hidden_size
    shared_and_router = n_moe * (
        arch.n_shared_experts * mlp_mats * arch.hidden_size * f_moe
        + (arch.hidden_size * arch.n_experts if arch.is_moe else 0)
    )
    return pc.attention + pc.mlp_dense + shared_and_router


def expert_params(arch: ModelArch) -> float:
    """Parameters of one routed expert (one MLP of width ``moe_ffn_hidden_size``); 0 if dense."""
    if not arch.is_moe:
        return 0.0
    mlp_mats = 3 if arch.gated_mlp else 2
    return float(mlp_mats * arch.hidden_size * (arch.moe_ffn_hidden_size or arch.ffn_hidden_size))


def lm_head_params(arch: ModelArch) -> float:
    """Output projection ``vocab x hidden`` (the embedding matrix when tied)."""
    return float(arch.vocab_size * arch.hidden_size)


def attention_flops_per_query_key(arch: ModelArch) -> float:
    """FLOP for one (query, key) pair across all layers and heads: ``4 L n_q d``.

    ``QK^T`` and ``softmax(.) V`` each cost ``2 d`` per pair and head (Dao et al. 2022,
    FlashAttention, arXiv 2205.14135, section 3).
    """
    return 4.0 * arch.n_layers * arch.n_heads * arch.head_size


def causal_query_key_pairs(n_tokens: float, past_tokens: float = 0.0) -> float:
    """(query, key) pairs when ``n_tokens`` new tokens attend causally after ``past_tokens``.

    ``sum_{i=1..n} (past + i) = n * past + n (n + 1) / 2``.
    """
    return n_tokens * past_tokens + n_tokens * (n_tokens + 1.0) / 2.0


def kv_cache_bytes(arch: ModelArch, tokens: float, bytes_per_element: float) -> float:
    """KV-cache bytes for ``tokens`` cached tokens: ``tokens * 2 L n_kv d * bytes``.

    Linear in the context: MHA keeps ``n_kv = n_q`` heads, GQA a divisor of them and MQA one.
    """
    return tokens * kv_cache_bytes_per_token(arch, bytes_per_element)
