"""Read a Hugging Face ``config.json`` into a :class:`ModelArch`.

Transformers configs name the same things differently per family (``n_layer`` in GPT-2,
``num_layers`` in ChatGLM, ``num_hidden_layers`` elsewhere). This module maps the
common spellings; anything it cannot find is an :class:`AidcInputError` naming the
missing field and the keys it tried.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError

from aidc.catalog.schema import ModelArch
from aidc.errors import AidcInputError
from aidc.fileio import read_document

_KEYS: dict[str, tuple[str, ...]] = {
    "n_layers": ("num_hidden_layers", "n_layer", "num_layers", "n_layers"),
    "hidden_size": ("hidden_size", "n_embd", "d_model", "dim"),
    "n_heads": ("num_attention_heads", "n_head", "num_heads", "n_heads"),
    "n_kv_heads": (
        "num_key_value_heads",
        "multi_query_group_num",
        "num_kv_heads",
        "n_head_kv",
        "n_kv_heads",
    ),
    "ffn_hidden_size": ("intermediate_size", "ffn_hidden_size", "n_inner", "ffn_dim", "d_ff"),
    "vocab_size": ("vocab_size", "padded_vocab_size", "n_vocab"),
    "max_seq_len": (
        "max_position_embeddings",
        "n_positions",
        "seq_length",
        "max_sequence_length",
        "n_ctx",
    ),
    "head_dim": ("head_dim", "kv_channels"),
    "n_experts": ("num_local_experts", "num_experts", "n_routed_experts", "moe_num_experts"),
    "experts_per_token": ("num_experts_per_tok", "moe_top_k", "top_k"),
    "moe_ffn_hidden_size": ("moe_intermediate_size", "expert_intermediate_size"),
    "n_shared_experts": ("n_shared_experts", "num_shared_experts"),
}

_ENCODER_TYPES = {
    "bert",
    "roberta",
    "deberta",
    "deberta-v2",
    "distilbert",
    "electra",
    "xlm-roberta",
}
_GATED_ACTS = {"silu", "swiglu", "geglu", "swish"}


def _pick(cfg: dict[str, Any], field: str) -> Any:
    for key in _KEYS[field]:
        if key in cfg and cfg[key] is not None:
            return cfg[key]
    return None


def _as_int(value: Any, field: str, origin: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
        raise AidcInputError(f"{origin}: {field} must be an integer, got {value!r}")
    if value < 0:
        raise AidcInputError(f"{origin}: {field} must be positive, got {value!r}")
    return int(value)


def arch_from_hf_dict(cfg: Any, *, name: str, origin: str) -> ModelArch:
    """Build a ModelArch from a parsed config.json mapping."""
    if not isinstance(cfg, dict):
        raise AidcInputError(f"{origin}: a Hugging Face config.json must be a JSON object")
    if "text_config" in cfg and isinstance(cfg["text_config"], dict):
        cfg = {**cfg, **cfg["text_config"]}  # multimodal wrappers keep the LM in text_config
    required = ("n_layers", "hidden_size", "n_heads", "vocab_size")
    values: dict[str, Any] = {}
    for field in _KEYS:
        raw = _pick(cfg, field)
        if raw is None:
            if field in required:
                tried = ", ".join(_KEYS[field])
                raise AidcInputError(
                    f"{origin}: cannot find {field} in config.json (tried: {tried})"
                )
            continue
        values[field] = _as_int(raw, field, origin)
    model_type = str(cfg.get("model_type", "unknown")).lower()
    act = str(cfg.get("hidden_act", cfg.get("activation_function", ""))).lower()
    gated = act in _GATED_ACTS or model_type in {"llama", "mistral", "mixtral", "qwen2", "qwen3"}
    if "ffn_hidden_size" not in values:
        values["ffn_hidden_size"] = 4 * values["hidden_size"]
    values.setdefault("max_seq_len", 2048)
    n_experts = values.get("n_experts", 1) or 1
    values["n_experts"] = n_experts
    values["experts_per_token"] = min(values.get("experts_per_token", 1) or 1, n_experts)
    kind = "encoder" if model_type in _ENCODER_TYPES else "decoder"
    pos = "learned"
    if "rope_theta" in cfg or "rope_scaling" in cfg or "rotary_dim" in cfg:
        pos = "rotary"
    elif cfg.get("alibi") or (cfg.get("attn_config") or {}).get("alibi"):
        pos = "alibi"
    try:
        return ModelArch(
            id=name,
            family=model_type,
            kind=kind,
            gated_mlp=gated,
            tied_embeddings=bool(cfg.get("tie_word_embeddings", kind == "encoder")),
            position_embedding=pos,
            source=f"Hugging Face config.json at {origin}",
            provenance="published",
            **values,
        )
    except ValidationError as err:
        first = err.errors()[0]
        loc = ".".join(str(x) for x in first["loc"])
        raise AidcInputError(f"{origin}: {loc}: {first['msg']}") from None


def load_hf_config(path: str | Path) -> ModelArch:
    """Read ``config.json`` (or a directory holding one) into a ModelArch."""
    p = Path(path)
    if p.is_dir():
        p = p / "config.json"
    cfg = read_document(p)
    name = p.parent.name if p.name == "config.json" and p.parent.name else p.stem
    return arch_from_hf_dict(cfg, name=name or "custom-model", origin=str(p))
