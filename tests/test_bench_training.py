"""Measured optimizer-state bytes equal the training model's prediction, optimizer by optimizer."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("torch", reason="the bench extra is not installed: pip install -e '.[bench]'")
pytest.importorskip("transformers", reason="the bench extra is not installed")

from aidc.bench.timing import RepeatPolicy
from aidc.bench.training import OPTIMIZERS, train_steps
from aidc.catalog.hf_config import load_hf_config
from aidc.model.training import optimizer_state_bytes_per_param

DATA = Path(__file__).parent / "data"
ONE_STEP = RepeatPolicy(warmup=1, min_runs=1, max_runs=1, budget_s=0.0)


@pytest.mark.parametrize("config", ["tiny-gpt2-config.json", "tiny-bert-config.json"])
def test_optimizer_state_bytes_match_the_training_model(config):
    arch = load_hf_config(DATA / config)
    results = train_steps(arch, OPTIMIZERS, batch=2, seq_len=8, policy=ONE_STEP, threads=1)
    by_name = {r.optimizer: r for r in results}
    assert set(by_name) == set(OPTIMIZERS)
    for name, r in by_name.items():
        predicted = optimizer_state_bytes_per_param(name, 4.0) * r.n_params
        assert r.state.per_element == predicted, name
        assert r.agrees
    # plain SGD keeps nothing; momentum and RMSprop one fp32 buffer; Adam(W) two
    assert by_name["sgd"].state.per_element == 0 and by_name["sgd"].state.n_tensors == 0
    assert by_name["momentum"].state.per_element == 4 * by_name["momentum"].n_params
    assert by_name["rmsprop"].state.per_element == 4 * by_name["rmsprop"].n_params
    assert by_name["adam"].state.per_element == 8 * by_name["adam"].n_params
    # step counters are scalars, one per parameter tensor, not per parameter
    assert 0 < by_name["adam"].state.bookkeeping < by_name["adam"].n_params
    assert (
        by_name["adam"].grads_bytes == by_name["adam"].params_bytes == 4 * by_name["adam"].n_params
    )
