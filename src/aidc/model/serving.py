"""Serving a traffic level: tail latency and replica count (analytic fast path), and the
bridge from a deployment to the discrete-event simulator.

**Generation, continuous batching.** A replica holds at most ``B`` requests (engine cap
and KV cache). With mean concurrency ``n`` per replica, a request's service time is
``S(n) = t_first(n) + (n_out - 1) t_pot(n)`` (:func:`aidc.model.inference.continuous_generation`)
and Little's law gives ``n = λ_r S(n)`` (solved by fixed-point iteration). Requests that
find every slot busy wait: the fleet is an M/G/c queue with ``c = R B`` slots when the
balancer sends work to the least-loaded replica (nginx ``least_conn``), or ``R``
independent M/G/B queues under round-robin. Tails: the p99 wait of
:func:`aidc.model.queueing.mgc_wait_quantile_s` (service-time variability from the
output-length spread). TTFT p99 (:func:`aidc.model.serving_tail.ttft_tail_s`): once
admitted, a request waits out the iteration in progress (length-biased, its prompts
included) and then shares its own prefill iteration with the decode batch and the prompts
that arrived meanwhile (a gated single-server queue); the slot wait is added by
:func:`aidc.model.serving_tail.with_slot_wait_s`. TPOT p99 is the p99 over requests of their mean
inter-token gap with prompts prefilled in whole iterations between the decodes
(:mod:`aidc.model.serving_tail`): short requests that meet several prefills set it.

**Encoders and static/dynamic batching.** A replica runs batches of up to ``b``; under
load batches are full, service ``T(b)``; the wait is that of M/D/1 on batches plus the
time to gather a batch.

Everything here is an approximation; the planner simulates its finalists with
:mod:`aidc.model.serving_sim` to confirm them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from aidc.model.inference import continuous_generation, encoder_pass, static_generation
from aidc.model.inference_arrays import KV_EXACT, Deployment
from aidc.model.inference_memory import memory_estimate
from aidc.model.inference_step import (
    decode_work,
    prefill_work,
    seq_host_s,
    step_time,
)
from aidc.model.queueing import erlang_c
from aidc.model.serving_sim import (
    EngineConfig,
    Requests,
    StepCost,
    bursty_arrivals,
    make_requests,
    poisson_arrivals,
)
from aidc.model.serving_tail import (
    decode_and_prefill_s,
    tpot_p99_s,
    ttft_tail_s,
    with_slot_wait_s,
)

Z99 = 2.3263478740408408
BIG_S = 1e30  # stands for an unbounded latency where values are interpolated
HALFIN_WHITT_SERVERS = 200
"""Above this many servers Erlang C uses the Halfin-Whitt approximation (O(1))."""


@dataclass(frozen=True)
class TrafficShape:
    rate_per_s: float
    input_mean: float
    output_mean: float
    input_p99: float | None = None
    output_p99: float | None = None


def traffic_requests(
    traffic: TrafficShape, rng: np.random.Generator, duration_s: float, *, bursty: bool = False
) -> Requests:
    """The simulator's input for ``traffic``: arrivals over ``duration_s`` (Poisson, or
    alternating bursts), prompt and output lengths lognormal with the shape's means and p99s."""
    arrive = bursty_arrivals if bursty else poisson_arrivals
    return make_requests(
        arrive(rng, traffic.rate_per_s, duration_s),
        rng,
        input_mean=traffic.input_mean,
        output_mean=traffic.output_mean,
        input_p99=traffic.input_p99,
        output_p99=traffic.output_p99,
    )


@dataclass(frozen=True)
class LatencySlo:
    ttft_s: float | None = None
    tpot_s: float | None = None
    e2e_s: float | None = None  # encoders: p99 latency


def lognormal_cv2(mean: float, p99: float | None) -> float:
    """Squared coefficient of variation of a lognormal with this mean and p99 (0 if fixed)."""
    if p99 is None or p99 <= mean:
        return 0.0
    r = math.log(p99 / mean)
    s = Z99 - math.sqrt(max(Z99 * Z99 - 2.0 * r, 0.0))
    return math.exp(s * s) - 1.0


def _erlang_c(c: int, a: float) -> float:
    if c <= HALFIN_WHITT_SERVERS or a >= c:
        return erlang_c(c, a)
    beta = (1.0 - a / c) * math.sqrt(c)
    if beta > 8.0:
        return 0.0  # waiting probability below 1e-14
    phi = math.exp(-beta * beta / 2.0) / math.sqrt(2.0 * math.pi)
    Phi = 0.5 * (1.0 + math.erf(beta / math.sqrt(2.0)))
    return 1.0 / (1.0 + beta * Phi / phi)


def wait_tail(rate: float, service_s: float, c: int, cv2: float) -> tuple[float, float]:
    """``(C, θ)`` of the M/G/c wait for a slot, ``P(W > t) = C e^{-θ t}`` (Allen-Cunneen:
    ``θ = 2 (c μ - λ) / (1 + c_s²)``, :func:`aidc.model.queueing.mgc_wait_quantile_s`;
    Halfin-Whitt for ``C`` above :data:`HALFIN_WHITT_SERVERS` servers); ``(1, 0)`` when
    the slots cannot keep up."""
    mu = 1.0 / service_s
    if rate >= c * mu:
        return 1.0, 0.0
    return _erlang_c(c, rate * service_s), 2.0 * (c * mu - rate) / (1.0 + cv2)


@dataclass(frozen=True)
class ServiceLevel:
    """Predicted tails for one design at one replica count."""

    replicas: int
    slots_per_replica: float
    concurrency_per_replica: float
    utilisation: float  # busy share of slots (continuous) or of time (batching)
    ttft_p99_s: float
    tpot_p99_s: float
    e2e_p99_s: float
    capacity_rps_per_replica: float
    meets_slo: bool


def meets_slo(level: dict[str, float], slo: LatencySlo) -> bool:
    ok = math.isfinite(level["e2e"])
    if slo.ttft_s is not None:
        ok &= level["ttft"] <= slo.ttft_s
    if slo.tpot_s is not None:
        ok &= level["tpot"] <= slo.tpot_s
    if slo.e2e_s is not None:
        ok &= level["e2e"] <= slo.e2e_s
    return bool(ok)


def tpot_tail(
    dep: Deployment,
    traffic: TrafficShape,
    *,
    n: np.ndarray,
    lam: np.ndarray,
    slots: np.ndarray,
    batch_var: np.ndarray,
) -> np.ndarray:
    """p99 TPOT per row of ``dep`` at mean batch ``n`` and arrivals ``lam`` per replica
    (:func:`aidc.model.serving_tail.tpot_p99_s`)."""
    n_in, n_out = traffic.input_mean, max(traffic.output_mean, 1.0)
    ctx = n_in + n_out / 2.0
    nb = np.maximum(n, 1.0)
    _, e1, e2 = decode_and_prefill_s(dep, nb, ctx, n_in, traffic.input_p99)
    return tpot_p99_s(
        dep,
        n=nb,
        context=ctx,
        rate_per_s=lam,
        delta_mean_s=e1,
        delta_sq_mean_s2=e2,
        slots=slots,
        batch_var=batch_var,
        output_mean=n_out,
        output_p99=traffic.output_p99,
    )


def generation_level(
    dep: Deployment,
    traffic: TrafficShape,
    slo: LatencySlo,
    *,
    replicas: int,
    balancer: str = "least_outstanding",
    max_batch: float | None = None,
) -> ServiceLevel:
    """Tails of a one-row deployment serving ``traffic`` on ``replicas`` replicas."""
    n_in, n_out = traffic.input_mean, max(traffic.output_mean, 1.0)
    probe = continuous_generation(dep, input_len=n_in, output_len=n_out, concurrency=np.inf)
    slots = float(probe.batch[0]) if max_batch is None else min(float(probe.batch[0]), max_batch)
    lam_r = traffic.rate_per_s / replicas

    def service(n: float) -> tuple[float, float, float]:
        g = continuous_generation(dep, input_len=n_in, output_len=n_out, concurrency=max(n, 1.0))
        return float(g.e2e_s[0]), float(g.ttft_s[0]), float(g.tpot_s[0])

    n = 1.0
    for _ in range(12):
        s, _, _ = service(n)
        n_new = min(lam_r * s, slots)
        if abs(n_new - n) < 1e-3 * max(n, 1.0):
            n = n_new
            break
        n = 0.5 * (n + n_new)
    s_full, _, _ = service(slots)
    capacity = slots / s_full
    s, _, _ = service(n)
    c, rate = (
        (int(slots) * replicas, traffic.rate_per_s)
        if balancer == "least_outstanding"
        else (int(slots), lam_r)
    )
    cv2 = lognormal_cv2(traffic.output_mean, traffic.output_p99)
    pw, theta = wait_tail(rate, s, max(c, 1), cv2) if lam_r * s_full < slots * 0.999 else (1.0, 0.0)
    g99, gm, gv = ttft_tail_s(
        dep,
        n=np.array([max(n, 1.0)]),
        context=n_in + n_out / 2.0,
        rate_per_s=np.array([lam_r]),
        prompt_mean=n_in,
        prompt_p99=traffic.input_p99,
    )
    ttft = with_slot_wait_s(float(g99[0]), float(gm[0]), float(gv[0]), pw, theta)
    tpot = float(
        tpot_tail(
            dep,
            traffic,
            n=np.array([n]),
            lam=np.array([lam_r]),
            slots=np.array([slots]),
            batch_var=np.array([n / replicas if balancer == "least_outstanding" else n]),
        )[0]
    )
    long_out = traffic.output_p99 or n_out
    level = {"ttft": ttft, "tpot": tpot, "e2e": ttft + (long_out - 1.0) * tpot}
    return ServiceLevel(
        replicas=replicas,
        slots_per_replica=slots,
        concurrency_per_replica=n,
        utilisation=lam_r * s / slots,
        ttft_p99_s=ttft,
        tpot_p99_s=tpot,
        e2e_p99_s=level["e2e"],
        capacity_rps_per_replica=capacity,
        meets_slo=meets_slo(level, slo) and lam_r < capacity,
    )


def batch_wait_s(
    rate_per_s: float, batch_s: float, batch: int, max_queue_delay_s: float
) -> tuple[float, float]:
    """``(wait, gather)`` of a request to a replica that runs batches of ``batch`` taking
    ``batch_s`` each at ``rate_per_s`` arrivals: the p99 wait of M/D/1 on full batches,
    ``P(W > t) ~ rho exp(-2 (mu - lambda) t)`` (infinite at ``rho >= 1``), and the time to
    gather a batch, at most the queue delay the server allows."""
    rho = rate_per_s / (batch / batch_s)
    if rho >= 1.0:
        wait = math.inf
    else:
        mu_b, lam_b = 1.0 / batch_s, rate_per_s / batch
        wait = 0.0 if rho <= 0.01 else math.log(rho / 0.01) / (2.0 * (mu_b - lam_b))
    gather = min(max_queue_delay_s, (batch - 1) / max(rate_per_s, 1e-12)) if batch > 1 else 0.0
    return wait, gather


def batch_level(
    dep: Deployment,
    traffic: TrafficShape,
    slo: LatencySlo,
    *,
    replicas: int,
    batch: int,
    max_queue_delay_s: float = 0.0,
) -> ServiceLevel:
    """Tails of static/dynamic batching (encoders, FasterTransformer-style generation)."""
    lam_r = traffic.rate_per_s / replicas
    if dep.arch.causal[0]:
        g = static_generation(
            dep, batch=batch, input_len=traffic.input_mean, output_len=max(traffic.output_mean, 1.0)
        )
        t_batch, t_first = float(g.e2e_s[0]), float(g.ttft_s[0])
        tpot = float(g.tpot_s[0])
    else:
        t_batch = t_first = float(
            encoder_pass(
                dep, batch=batch, seq_len=traffic.input_p99 or traffic.input_mean
            ).latency_s[0]
        )
        tpot = 0.0
    capacity = batch / t_batch
    rho = lam_r / capacity
    wait, gather = batch_wait_s(lam_r, t_batch, batch, max_queue_delay_s)
    ttft = wait + gather + t_first
    e2e = wait + gather + t_batch
    level = {"ttft": ttft, "tpot": tpot, "e2e": e2e}
    return ServiceLevel(
        replicas=replicas,
        slots_per_replica=float(batch),
        concurrency_per_replica=lam_r * t_batch,
        utilisation=rho,
        ttft_p99_s=ttft,
        tpot_p99_s=tpot,
        e2e_p99_s=e2e,
        capacity_rps_per_replica=capacity,
        meets_slo=meets_slo(level, slo),
    )


def fewest_replicas(
    level_at, capacity_rps: float, rate_per_s: float, *, limit: int = 100_000
) -> ServiceLevel | None:  # type: ignore[no-untyped-def]
    """Smallest replica count whose :class:`ServiceLevel` meets the SLO (``None`` if none
    up to ``limit``): start from the count that carries the load, then grow geometrically
    and bisect."""
    if not capacity_rps > 0:
        return None
    lo = max(1, math.ceil(rate_per_s / capacity_rps))
    first = level_at(lo)
    if first.meets_slo:
        return first
    hi = lo
    while True:
        hi = hi * 2
        if hi > limit:
            return None
        top = level_at(hi)
        if top.meets_slo:
            break
        if top.ttft_p99_s == level_at(hi // 2).ttft_p99_s and hi > 4 * lo:
            return None  # more replicas no longer help (e.g. one prompt alone misses the SLO)
    best = top
    lo_bad = hi // 2
    while hi - lo_bad > 1:
        mid = (hi + lo_bad) // 2
        m = level_at(mid)
        if m.meets_slo:
            hi, best = mid, m
        else:
            lo_bad = mid
    return best


# ---------------------------------------------------------------------- simulator bridge


def step_cost(dep: Deployment, *, ref_batch: float = 64.0, ref_prompt: float = 4096.0) -> StepCost:
    """Linearised iteration time of a one-row deployment (see :class:`StepCost`).

    Evaluates the analytical step model at a decode of ``ref_batch`` sequences (weights and
    fixed costs; MoE weights touched at that batch), its growth with cached context, and a
    prefill of ``ref_prompt`` tokens (GEMM and attention work per token and per pair; GEMM
    efficiency grows with rows, so linearise at the traffic's mean prompt under continuous
    batching, where prompts are prefilled one or a few at a time). Pipeline stages run one
    after another (a request's latency), with no micro-batch overlap.
    """
    pp = float(dep.pp[0])
    b = max(ref_batch, 1.0)
    d0 = step_time(dep, decode_work(b, 0.0))
    ctx = 4096.0
    d1 = step_time(dep, decode_work(b, ctx))
    n = max(ref_prompt, 1.0)
    pre = step_time(dep, prefill_work(1.0, n))
    pairs = n * (n + 1.0) / 2.0

    def f(x: np.ndarray) -> float:
        return float(np.ravel(x)[0])

    fixed = pp * (f(d0.kernel_floor_s) + f(d0.comm_s) + f(d0.elementwise_s)) + (pp - 1.0) * f(
        d0.p2p_s
    )
    per_seq = f(seq_host_s(dep))  # with the host factor, as the step model charges it
    fixed += f(d0.overhead_s) - per_seq * b
    return StepCost(
        fixed_s=max(fixed, 0.0),
        per_seq_s=per_seq,
        weights_s=pp * f(d0.gemm_s) + f(d0.lm_head_s),
        per_ctx_token_s=max(pp * (f(d1.attention_s) - f(d0.attention_s)) / (b * ctx), 0.0),
        per_new_token_s=(pp * (f(pre.gemm_s) + f(pre.elementwise_s)) + f(pre.lm_head_s)) / n,
        per_pair_s=pp * f(pre.attention_s) / pairs,
    )


def engine_config(
    dep: Deployment,
    *,
    input_len: float,
    output_len: float,
    policy: str,
    max_batch: float | None = None,
    max_queue_delay_s: float = 0.0,
) -> EngineConfig:
    """Simulator settings for a one-row deployment: slots, token budget, KV cache size."""
    mem = memory_estimate(
        dep, batch=dep.engine.max_batch, input_len=input_len, output_len=output_len
    )
    pooled = float(dep.engine.kv_policy[0]) != KV_EXACT
    kv_tokens = float(mem.kv_capacity_tokens[0]) if pooled else math.inf
    cap = float(dep.engine.max_batch[0]) if max_batch is None else max_batch
    return EngineConfig(
        policy=policy,
        max_batch=max(int(cap), 1),
        max_num_tokens=int(dep.engine.max_num_tokens[0]),
        kv_capacity_tokens=kv_tokens,
        max_queue_delay_s=max_queue_delay_s,
    )
