"""Training model: FLOP counts, memory formulas, and physical invariants (property tests)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aidc.catalog import Precision, load_catalog
from aidc.catalog.calibration import load_default_calibration
from aidc.catalog.efficiency import kernel_efficiency_for
from aidc.model.memory import (
    activation_bytes_per_token_layer,
    layers_per_stage,
    model_state_bytes,
    optimizer_state_bytes_per_param,
)
from aidc.model.training import (
    RECOMPUTE_CODES,
    TrainingCalibration,
    TrainingPlanArrays,
    TrainingSettings,
    estimate_training,
    training_devices,
)
from aidc.model.transformer import (
    forward_flops_per_token,
    hardware_flops_per_token,
    layer_gemm_shapes,
    param_counts,
    training_flops_per_token,
)
from aidc.search.training_space import (
    DEFAULT_GLOBAL_BATCH_TOKENS,
    default_global_batch_tokens,
    enumerate_plans,
    enumerate_training_space,
)

CAT = load_catalog()
CAL = TrainingCalibration.from_calibration(load_default_calibration())
LINKS = {lk.id: lk for lk in CAT.links}


def _devices(acc_id: str, n: int, precision: Precision = Precision.BF16, network: str = "ib-ndr"):
    acc = CAT.accelerators.get(acc_id)
    dev = training_devices([acc], [kernel_efficiency_for(acc)], precision, LINKS, network)
    return dev.take(np.zeros(n, dtype=np.int64))


def _plan(**kw) -> TrainingPlanArrays:
    n = max(len(np.atleast_1d(v)) for v in kw.values())
    full = {
        k: np.broadcast_to(np.atleast_1d(np.asarray(v, dtype=np.int64)), (n,)).copy()
        for k, v in kw.items()
    }
    full.setdefault("zero_stage", np.ones(n, dtype=np.int64))
    full.setdefault("recompute", np.zeros(n, dtype=np.int64))
    full.setdefault("grad_accum", np.ones(n, dtype=np.int64))
    return TrainingPlanArrays(**full)


# --- FLOPs -------------------------------------------------------------------------


def test_gemm_shapes_account_for_every_matmul_parameter():
    for name in ("llama-3-8b", "gpt3-175b", "mixtral-8x7b", "qwen3-30b-a3b", "bert-large"):
        a = CAT.models.get(name)
        pc = param_counts(a)
        matmul = sum(g.flops_per_token() for g in layer_gemm_shapes(a)) * a.n_layers / 2.0
        assert matmul == pytest.approx(
            pc.attention + pc.mlp_dense + pc.mlp_experts_active, rel=1e-9
        )


def test_moe_counts_active_not_total_parameters():
    a = CAT.models.get("mixtral-8x7b")
    pc = param_counts(a)
    assert pc.active < 0.35 * pc.total
    assert forward_flops_per_token(a, 1) < 2.2 * pc.active


def test_full_recompute_matches_megatron_formula():
    """Narayanan et al. 2021 eq. 3: 96 B s l h^2 (1 + s/6h + V/16lh) per iteration."""
    a = CAT.models.get("gpt3-175b")
    s, h, L, V = 2048, a.hidden_size, a.n_layers, a.vocab_size
    megatron = 96 * s * L * h**2 * (1 + s / (6 * h) + V / (16 * L * h)) / s
    ours = hardware_flops_per_token(a, s, "full", causal=False)
    assert ours == pytest.approx(megatron, rel=0.01)  # ours adds the small bias/router-free terms


def test_recompute_orders_hardware_flops():
    a = CAT.models.get("llama-2-13b")
    none, sel, full = (hardware_flops_per_token(a, 4096, m) for m in ("none", "selective", "full"))
    assert none == pytest.approx(training_flops_per_token(a, 4096))
    assert none < sel < full < 4.0 / 3.0 * none * 1.01


def test_causal_attention_costs_about_half():
    a = CAT.models.get("llama-3-8b")
    c = forward_flops_per_token(a, 8192, causal=True)
    b = forward_flops_per_token(a, 8192, causal=False)
    attn = 4 * a.n_layers * a.n_heads * a.head_size * 8192
    assert b - c == pytest.approx(attn * (1 - (8192 + 1) / 2 / 8192), rel=1e-9)


# --- memory ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("optimizer", "expected"),
    [("sgd", 0.0), ("momentum", 4.0), ("rmsprop", 4.0), ("adam", 8.0), ("adamw", 8.0)],
)
def test_optimizer_state_bytes_match_pytorch_fp32(optimizer, expected):
    assert optimizer_state_bytes_per_param(optimizer, 4.0) == expected


def test_optimizer_state_bytes_other_optimizers():
    assert optimizer_state_bytes_per_param("adam", 2.0) == 4.0  # bf16 parameters keep bf16 state
    assert optimizer_state_bytes_per_param("adam8bit", 4.0) == pytest.approx(2.0, abs=0.01)
    assert optimizer_state_bytes_per_param("adafactor", 4.0, matrix_dim=4096) == pytest.approx(
        8 / 4096
    )
    with pytest.raises(ValueError, match="adamw"):
        optimizer_state_bytes_per_param("lion", 4.0)


def test_korthikanti_activation_formulas():
    """34 sbh + 5 a s^2 b bytes per layer (no parallelism); 10 + 24/t + 5as/(ht) with TP."""
    a = CAT.models.get("gpt3-175b")
    s, h, heads = 2048, a.hidden_size, a.n_heads
    one = activation_bytes_per_token_layer(a, s, 1, flash_attention=False, dropout=True)
    assert one == pytest.approx(h * (34 + 5 * heads * s / h))
    tp8 = activation_bytes_per_token_layer(
        a, s, 8, sequence_parallel=False, flash_attention=False, dropout=True
    )
    assert tp8 == pytest.approx(h * (10 + 24 / 8 + 5 * heads * s / (h * 8)))
    sp8 = activation_bytes_per_token_layer(
        a, s, 8, sequence_parallel=True, flash_attention=False, dropout=True
    )
    assert sp8 == pytest.approx(h * (34 / 8 + 5 * heads * s / (h * 8)))


@settings(max_examples=40, deadline=None)
@given(
    dp=st.integers(1, 512),
    more=st.integers(1, 8),
    zero=st.integers(0, 3),
    opt=st.sampled_from(["sgd", "momentum", "rmsprop", "adam", "adamw", "adafactor", "adam8bit"]),
)
def test_more_devices_never_raise_weights_or_optimizer_memory(dp, more, zero, opt):
    p = 7e9
    a = model_state_bytes(
        p, dp, zero, optimizer=opt, weight_bytes=2.0, grad_bytes=4.0, params_per_layer_device=p / 32
    )
    b = model_state_bytes(
        p,
        dp * more,
        zero,
        optimizer=opt,
        weight_bytes=2.0,
        grad_bytes=4.0,
        params_per_layer_device=p / 32,
    )
    assert b.weights <= a.weights + 1e-6
    assert b.optimizer <= a.optimizer + 1e-6
    assert b.grads <= a.grads + 1e-6


def test_zero_stages_shard_what_they_should():
    p, dp = 8e9, 8
    s0, s1, s2, s3 = (
        model_state_bytes(
            p,
            dp,
            z,
            optimizer="adamw",
            weight_bytes=2.0,
            grad_bytes=4.0,
            params_per_layer_device=p / 32,
        )
        for z in range(4)
    )
    assert float(s0.total) == pytest.approx(p * (2 + 4 + 4 + 8))  # ZeRO paper's 16 + 2 fp32 grad
    assert float(s1.optimizer) == pytest.approx(p * 12 / dp)
    assert float(s2.grads) == pytest.approx(p * 4 / dp)
    assert float(s3.weights) < float(s2.weights) / 4


# --- step time: physical invariants -------------------------------------------------


@settings(max_examples=30, deadline=None)
@given(
    tp=st.sampled_from([1, 2, 4, 8]),
    pp=st.sampled_from([1, 2, 4]),
    dp=st.sampled_from([1, 2, 8, 32]),
    mb=st.sampled_from([1, 2, 4]),
    ga=st.sampled_from([1, 4, 16]),
    rc=st.sampled_from([0, 1, 2]),
    zero=st.sampled_from([0, 1, 3]),
    acc=st.sampled_from(["A100-SXM-80GB", "H100-SXM", "MI300X"]),
)
def test_time_at_least_flops_over_peak(tp, pp, dp, mb, ga, rc, zero, acc):
    arch = CAT.models.get("llama-2-13b")
    n = tp * pp * dp
    plan = _plan(
        n_devices=n,
        tp=tp,
        pp=pp,
        dp=dp,
        micro_batch=mb,
        grad_accum=ga,
        recompute=rc,
        zero_stage=zero,
    )
    dev = _devices(acc, 1)
    est = estimate_training(arch, dev, plan, TrainingSettings(seq_len=4096), CAL)
    floor = est.hardware_flops_per_step / (n * dev.gemm_peak_flops_per_s)
    assert np.all(est.step_time_s >= floor)
    assert np.all(est.mfu <= est.hfu + 1e-12) and np.all(est.hfu <= 1.0)


@settings(max_examples=25, deadline=None)
@given(
    tp=st.sampled_from([1, 8]),
    dp=st.sampled_from([2, 16, 64]),
    zero=st.sampled_from([0, 1, 3]),
    mb=st.sampled_from([1, 4]),
)
def test_faster_network_never_slows_a_step(tp, dp, zero, mb):
    arch = CAT.models.get("llama-3-8b")
    plan = _plan(n_devices=tp * dp, tp=tp, pp=1, dp=dp, micro_batch=mb, zero_stage=zero)
    times = []
    for link in ("eth-100g", "roce-200g", "ib-ndr", "ib-xdr"):
        est = estimate_training(
            arch, _devices("H100-SXM", 1, network=link), plan, TrainingSettings(seq_len=8192), CAL
        )
        times.append(float(est.step_time_s[0]))
    assert times == sorted(times, reverse=True)


def test_faster_scaleup_never_slows_a_step():
    arch = CAT.models.get("llama-3-70b")
    plan = _plan(n_devices=64, tp=8, pp=1, dp=8, micro_batch=1, grad_accum=8)
    slow = estimate_training(
        arch, _devices("A100-SXM-80GB", 1), plan, TrainingSettings(seq_len=4096), CAL
    )
    fast_cal = CAL.replace(scaleup_bus_efficiency=CAL.scaleup_bus_efficiency * 2)
    fast = estimate_training(
        arch, _devices("A100-SXM-80GB", 1), plan, TrainingSettings(seq_len=4096), fast_cal
    )
    assert fast.step_time_s[0] < slow.step_time_s[0]


def test_hidden_communication_costs_its_interference_share():
    """FSDP traffic hidden behind compute slows the step by kappa x the hidden time;
    without data-parallel traffic (one replica) nothing changes."""
    arch = CAT.models.get("llama-3-8b")
    plan = _plan(n_devices=[8, 1], tp=1, pp=1, dp=[8, 1], micro_batch=2, zero_stage=3)
    dev, st_ = _devices("H100-SXM", 2), TrainingSettings(seq_len=4096)
    base = estimate_training(arch, dev, plan, st_, CAL.replace(comm_interference=0.0))
    more = estimate_training(arch, dev, plan, st_, CAL.replace(comm_interference=0.5))
    assert base.comm_exposed_s[0] == 0.0  # all of it hidden at this size
    assert more.step_time_s[0] > base.step_time_s[0]
    assert more.step_time_s[1] == base.step_time_s[1]


def test_fp8_gemm_scale_speeds_fp8_runs_only():
    arch = CAT.models.get("llama-3-8b")
    plan = _plan(n_devices=8, tp=1, pp=1, dp=8, micro_batch=2, zero_stage=3)
    for prec, changes in ((Precision.FP8, True), (Precision.BF16, False)):
        dev, st_ = _devices("H100-SXM", 1, prec), TrainingSettings(seq_len=4096, precision=prec)
        one = estimate_training(arch, dev, plan, st_, CAL.replace(fp8_gemm_scale=1.0))
        more = estimate_training(arch, dev, plan, st_, CAL.replace(fp8_gemm_scale=1.3))
        assert (more.step_time_s[0] < one.step_time_s[0]) == changes
        assert more.step_time_s[0] <= one.step_time_s[0]


def test_busiest_pipeline_stage_holds_whole_layers():
    assert list(layers_per_stage(80, np.array([1, 8, 12, 80]))) == [80, 10, 7, 1]
    assert list(layers_per_stage(70, np.array([7, 12]))) == [10, 6]
    # interleaved: 126 layers in 16 x 4 chunks of at most 2 -> 8 on the busiest device
    assert list(layers_per_stage(126, np.array([16, 16]), np.array([1, 4]))) == [8, 8]
    assert list(layers_per_stage(10, np.array([4]), np.array([2]))) == [4]


def test_default_batch_grows_with_the_cluster():
    assert default_global_batch_tokens(512) == DEFAULT_GLOBAL_BATCH_TOKENS
    assert default_global_batch_tokens(16384) == 1024 * 16384  # Llama 3 405B: 16 M
    a = CAT.models.get("llama-3-8b")
    space = enumerate_training_space(
        n_layers=a.n_layers,
        n_heads=a.n_heads,
        seq_len=8192,
        global_batch_seqs=512,
        accel_domain=[8],
        accel_devices_per_node=[8],
        max_devices=16384,
        recompute="none",
        min_batch_tokens_per_device=1024.0,
    )
    p = space.plan
    batch = p.micro_batch * p.grad_accum * p.dp
    assert np.all(batch[p.n_devices <= 4096] >= 512)
    assert np.all(batch[p.n_devices == 16384] >= 2048)


def test_pipeline_bubble_shrinks_with_micro_batches_and_interleaving():
    arch = CAT.models.get("llama-3-70b")
    plan = _plan(n_devices=64, tp=8, pp=8, dp=1, micro_batch=1, grad_accum=[8, 64, 8], vp=[1, 1, 2])
    est = estimate_training(
        arch, _devices("H100-SXM", 3), plan, TrainingSettings(seq_len=4096), CAL
    )
    assert est.bubble_fraction[1] < est.bubble_fraction[0]
    assert est.bubble_fraction[2] < est.bubble_fraction[0]


def test_recompute_trades_memory_for_time():
    arch = CAT.models.get("llama-2-13b")
    plan = _plan(n_devices=8, tp=1, pp=1, dp=8, micro_batch=2, recompute=[0, 1, 2], zero_stage=3)
    est = estimate_training(
        arch, _devices("A100-SXM-80GB", 3), plan, TrainingSettings(seq_len=4096), CAL
    )
    assert est.step_time_s[0] < est.step_time_s[1] < est.step_time_s[2]
    assert (
        est.memory_activations_bytes[0]
        > est.memory_activations_bytes[1]
        > est.memory_activations_bytes[2]
    )


def test_fits_is_memory_against_capacity():
    arch = CAT.models.get("llama-3.1-405b")
    plan = _plan(n_devices=8, tp=8, pp=1, dp=1, micro_batch=1)
    est = estimate_training(
        arch, _devices("H100-SXM", 1), plan, TrainingSettings(seq_len=8192), CAL
    )
    assert not est.fits[0]
    # 405e9 params x (2 + 4 + 4 + 8) B / 8 devices = 0.91 TB per device, on 80 GB parts
    assert -1.0e12 < est.memory_headroom_bytes[0] < -0.8e12


# --- plan search ---------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(
    n=st.sampled_from([1, 2, 8, 16, 24, 64, 96, 256]),
    seq=st.sampled_from([2048, 8192, 32768]),
    gbs=st.sampled_from([8, 256, 2048]),
)
def test_every_plan_multiplies_to_the_device_count(n, seq, gbs):
    a = CAT.models.get("llama-3-8b")
    plans = enumerate_plans(
        n,
        n_layers=a.n_layers,
        n_heads=a.n_heads,
        seq_len=seq,
        global_batch_seqs=gbs,
        scaleup_domain=8,
    )
    assert np.all(plans.tp * plans.pp * plans.dp * plans.cp == n)
    assert np.all(plans.tp <= 8) and np.all(a.n_heads % plans.tp == 0)
    assert np.all(plans.micro_batch * plans.dp <= max(gbs, 1))


def test_fixed_plan_fields_are_respected():
    a = CAT.models.get("mixtral-8x7b")
    plans = enumerate_plans(
        64,
        n_layers=a.n_layers,
        n_heads=a.n_heads,
        seq_len=4096,
        global_batch_seqs=512,
        scaleup_domain=8,
        n_experts=a.n_experts,
        fixed={"tp": 2, "recompute": "full"},
    )
    assert len(plans) and set(plans.tp) == {2} and set(plans.recompute) == {RECOMPUTE_CODES["full"]}
    assert (
        set(plans.ep) > {1}
        and np.all(a.n_experts % plans.ep == 0)
        and np.all(plans.dp % plans.ep == 0)
    )


def test_expert_states_shard_over_the_expert_data_parallel_ranks():
    # Routed experts live on dp/ep ranks each: ZeRO-1 shards their optimizer states over
    # those, so expert parallelism lowers the weights a device holds, not its states.
    arch = CAT.models.get("mixtral-8x7b")
    plan = _plan(n_devices=64, tp=1, pp=1, dp=64, micro_batch=1, ep=[1, 8], zero_stage=1)
    est = estimate_training(
        arch, _devices("H100-SXM", 2), plan, TrainingSettings(seq_len=4096), CAL
    )
    assert est.memory_weights_bytes[1] < 0.5 * est.memory_weights_bytes[0]
    assert est.memory_optimizer_bytes[1] == pytest.approx(est.memory_optimizer_bytes[0])


def test_attention_head_dim_factor_is_one_at_the_records_head_dim_and_below_it_for_small_heads():
    from aidc.model.efficiency import attention_head_dim_factor

    f = attention_head_dim_factor(np.array([32.0, 64.0, 96.0, 128.0, 256.0]))
    assert f[3] == pytest.approx(1.0) and f[4] == pytest.approx(1.0)  # capped at 128
    assert np.all(np.diff(f[:4]) > 0)  # smaller heads, less efficient
    assert 0.75 < f[1] < 0.9  # head dim 64: ~0.82 of head dim 128 (measured)
