from __future__ import annotations

import json

import pytest

from aidc.catalog.hf_config import arch_from_hf_dict, load_hf_config
from aidc.errors import AidcInputError
from aidc.model.transformer import param_counts


def test_llama_style_config_roundtrip(tmp_path):
    cfg = {
        "model_type": "llama",
        "hidden_act": "silu",
        "hidden_size": 4096,
        "intermediate_size": 14336,
        "num_attention_heads": 32,
        "num_hidden_layers": 32,
        "num_key_value_heads": 8,
        "vocab_size": 128256,
        "max_position_embeddings": 8192,
        "rope_theta": 500000.0,
    }
    d = tmp_path / "llama3"
    d.mkdir()
    (d / "config.json").write_text(json.dumps(cfg))
    arch = load_hf_config(d)
    assert arch.id == "llama3" and arch.gated_mlp and arch.kv_heads == 8
    assert param_counts(arch).total == pytest.approx(8.03e9, rel=0.01)


def test_gpt2_spelling():
    arch = arch_from_hf_dict(
        {
            "model_type": "gpt2",
            "n_layer": 12,
            "n_embd": 768,
            "n_head": 12,
            "vocab_size": 50257,
            "n_positions": 1024,
            "tie_word_embeddings": True,
        },
        name="gpt2",
        origin="x",
    )
    assert param_counts(arch).total == pytest.approx(124e6, rel=0.01)


def test_mixtral_moe():
    arch = arch_from_hf_dict(
        {
            "model_type": "mixtral",
            "num_hidden_layers": 32,
            "hidden_size": 4096,
            "num_attention_heads": 32,
            "num_key_value_heads": 8,
            "intermediate_size": 14336,
            "vocab_size": 32000,
            "num_local_experts": 8,
            "num_experts_per_tok": 2,
        },
        name="m",
        origin="x",
    )
    pc = param_counts(arch)
    assert pc.total == pytest.approx(46.7e9, rel=0.01)
    assert pc.active == pytest.approx(12.9e9, rel=0.01)


def test_bert_is_encoder():
    arch = arch_from_hf_dict(
        {
            "model_type": "bert",
            "num_hidden_layers": 12,
            "hidden_size": 768,
            "num_attention_heads": 12,
            "intermediate_size": 3072,
            "vocab_size": 30522,
        },
        name="b",
        origin="x",
    )
    assert arch.kind == "encoder"


def test_inconsistent_heads_is_input_error():
    with pytest.raises(AidcInputError, match="n_kv_heads"):
        arch_from_hf_dict(
            {
                "num_hidden_layers": 2,
                "hidden_size": 64,
                "num_attention_heads": 6,
                "num_key_value_heads": 4,
                "vocab_size": 10,
            },
            name="x",
            origin="cfg.json",
        )
