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


def _wait_tail(rate: float, service_s: float, c: int, cv2: float) -> tuple[float, float]:
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


def _meets(level: dict[str, float], slo: LatencySlo) -> bool:
    ok = math.isfinite(level["e2e"])
    if slo.ttft_s is not None:
        ok &= level["ttft"] <= slo.ttft_s
    if slo.tpot_s is not None:
        ok &= level["tpot"] <= slo.tpot_s
    if slo.e2e_s is not None:
        ok &= level["e2e"] <= slo.e2e_s
    return bool(ok)


def _tpot_tail(
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
    pw, theta = (
        _wait_tail(rate, s, max(c, 1), cv2) if lam_r * s_full < slots * 0.999 else (1.0, 0.0)
    )
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
        _tpot_tail(
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
        meets_slo=_meets(level, slo) and lam_r < capacity,
    )


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
    if rho >= 1.0:
        wait = math.inf
    else:
        # M/D/1 on full batches: P(W > t) ~ rho exp(-2 (mu - lambda) t)
        mu_b, lam_b = 1.0 / t_batch, lam_r / batch
        wait = 0.0 if rho <= 0.01 else math.log(rho / 0.01) / (2.0 * (mu_b - lam_b))
    gather = min(max_queue_delay_s, (batch - 1) / max(lam_r, 1e-12)) if batch > 1 else 0.0
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
        meets_slo=_meets(level, slo),
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


# ------------------------------------------------------------------ vectorised fleet search

GRID_POINTS = 12
"""Concurrency (or batch) levels per design at which the step model is evaluated; the
fleet search interpolates between them."""


@dataclass(frozen=True)
class FleetChoice:
    """Fewest replicas of one design that meet the SLO, with the predicted tails."""

    level: ServiceLevel | None  # None: no replica count meets the SLO
    batch: int  # engine batch cap (continuous) or batch size (static/dynamic)
    reason: str = ""
    headroom: float = 0.0  # highest rate these replicas serve within the SLO, over the peak


def slo_headroom(level_at_rate, replicas: int, rate_per_s: float, *, top: float = 64.0) -> float:  # type: ignore[no-untyped-def]
    """Largest load factor ``f`` (up to ``top``) at which ``replicas`` still meet the SLO at
    ``f x rate`` (bisection on a log scale)."""
    if not level_at_rate(replicas, rate_per_s).meets_slo:
        return 0.0
    lo, hi = 1.0, top
    if level_at_rate(replicas, rate_per_s * hi).meets_slo:
        return hi
    for _ in range(12):
        mid = math.sqrt(lo * hi)
        if level_at_rate(replicas, rate_per_s * mid).meets_slo:
            lo = mid
        else:
            hi = mid
    return lo


def _grid(cap: np.ndarray) -> np.ndarray:
    """rows x GRID_POINTS concurrency levels from 1 to ``cap`` (geometric)."""
    frac = np.geomspace(1.0, 1.0 / 2048.0, GRID_POINTS)
    return np.maximum(np.floor(cap[:, None] * frac[None, :]), 1.0)


def continuous_fleet(
    dep: Deployment,
    traffic: TrafficShape,
    slo: LatencySlo,
    *,
    balancer: str = "least_outstanding",
    max_replicas: int = 100_000,
) -> list[FleetChoice]:
    """For every row of ``dep`` (continuous batching), the fewest replicas meeting ``slo``."""
    rows = len(dep)
    n_in, n_out = traffic.input_mean, max(traffic.output_mean, 1.0)
    long_out = traffic.output_p99 or n_out
    probe = continuous_generation(dep, input_len=n_in, output_len=n_out, concurrency=np.inf)
    slots = np.maximum(probe.batch, 1.0)
    fits = probe.memory.fits
    grid = _grid(slots)
    idx = np.repeat(np.arange(rows), GRID_POINTS)
    d = dep.take(idx)
    conc = grid.ravel()
    g = continuous_generation(d, input_len=n_in, output_len=n_out, concurrency=conc)
    S = g.e2e_s.reshape(rows, GRID_POINTS)[:, ::-1]  # ascending concurrency
    N = grid[:, ::-1]
    # p99 TPOT at each grid point's arrival rate, with the batch-size variance of one
    # replica (v = n) and of a perfectly balanced fleet (v = 0); least-outstanding over R
    # replicas has v = n / R, interpolated below in 1 / sqrt(R) (the batch-size spread)
    lam_grid = conc / g.e2e_s
    slots_rep = np.repeat(slots, GRID_POINTS)
    both = np.tile(np.arange(len(conc)), 2)
    tails = _tpot_tail(
        d.take(both),
        traffic,
        n=conc[both],
        lam=lam_grid[both],
        slots=slots_rep[both],
        batch_var=np.concatenate([conc, 0.0 * conc]),
    )
    tail_one, tail_many = (
        np.minimum(t, BIG_S).reshape(rows, GRID_POINTS)[:, ::-1] for t in np.split(tails, 2)
    )
    g99, gm, gv = (
        np.minimum(x, BIG_S).reshape(rows, GRID_POINTS)[:, ::-1]
        for x in ttft_tail_s(
            d,
            n=conc,
            context=n_in + n_out / 2.0,
            rate_per_s=lam_grid,
            prompt_mean=n_in,
            prompt_p99=traffic.input_p99,
        )
    )
    cv2 = lognormal_cv2(traffic.output_mean, traffic.output_p99)
    out: list[FleetChoice] = []
    for i in range(rows):
        if not fits[i]:
            out.append(FleetChoice(None, int(slots[i]), "memory"))
            continue
        n_i, s_i = N[i], S[i]
        t1_i, t0_i = tail_one[i], tail_many[i]
        thr = n_i / s_i  # requests/s of one replica at each concurrency (increasing)
        cap_rps = float(thr[-1])
        if not cap_rps > 0:
            out.append(FleetChoice(None, int(slots[i]), "capacity"))
            continue

        def level(
            r: int,
            rate_total: float = traffic.rate_per_s,
            i=i,
            n_i=n_i,
            s_i=s_i,
            t1_i=t1_i,
            t0_i=t0_i,
            thr=thr,
            cap_rps=cap_rps,
        ) -> ServiceLevel:
            lam_r = rate_total / r
            if lam_r >= cap_rps:
                return ServiceLevel(
                    r, slots[i], slots[i], 1.0, math.inf, math.inf, math.inf, cap_rps, False
                )
            n = float(np.interp(lam_r, thr, n_i))
            s = float(np.interp(n, n_i, s_i))
            servers, rate = (
                (int(slots[i]) * r, rate_total)
                if balancer == "least_outstanding"
                else (int(slots[i]), lam_r)
            )
            pw, theta = _wait_tail(rate, s, max(servers, 1), cv2)
            t1, t0 = float(np.interp(lam_r, thr, t1_i)), float(np.interp(lam_r, thr, t0_i))
            tpot = t1 if balancer != "least_outstanding" else t0 + (t1 - t0) / math.sqrt(r)
            ttft = with_slot_wait_s(
                *(float(np.interp(lam_r, thr, x[i])) for x in (g99, gm, gv)), pw, theta
            )
            lv = {"ttft": ttft, "tpot": tpot, "e2e": ttft + (long_out - 1.0) * tpot}
            return ServiceLevel(
                r,
                float(slots[i]),
                n,
                lam_r * s / float(slots[i]),
                ttft,
                tpot,
                lv["e2e"],
                cap_rps,
                _meets(lv, slo),
            )

        best = fewest_replicas(level, cap_rps, traffic.rate_per_s, limit=max_replicas)
        room = slo_headroom(level, best.replicas, traffic.rate_per_s) if best else 0.0
        out.append(FleetChoice(best, int(slots[i]), "" if best else "slo", room))
    return out


def batch_fleet(
    dep: Deployment,
    traffic: TrafficShape,
    slo: LatencySlo,
    *,
    batches: tuple[int, ...],
    max_queue_delay_s: float = 0.0,
    max_replicas: int = 100_000,
) -> list[FleetChoice]:
    """For every row (static/dynamic batching), the batch size and fewest replicas that
    meet ``slo`` (fewest replicas first, then lowest p99)."""
    rows = len(dep)
    nb = len(batches)
    idx = np.repeat(np.arange(rows), nb)
    d = dep.take(idx)
    b = np.tile(np.array(batches, dtype=float), rows)
    if dep.arch.causal.all():
        g = static_generation(
            d, batch=b, input_len=traffic.input_mean, output_len=max(traffic.output_mean, 1.0)
        )
        T, FIRST, TPOT, fits = g.e2e_s, g.ttft_s, g.tpot_s, g.memory.fits
    else:
        e = encoder_pass(d, batch=b, seq_len=traffic.input_p99 or traffic.input_mean)
        T, FIRST, TPOT, fits = e.latency_s, e.latency_s, np.zeros_like(e.latency_s), e.memory.fits
    T, FIRST, TPOT, fits = (x.reshape(rows, nb) for x in (T, FIRST, TPOT, fits))
    out: list[FleetChoice] = []
    for i in range(rows):
        choices: list[tuple[int, float, int, ServiceLevel, float]] = []
        for j, bsz in enumerate(batches):
            if not fits[i, j] or not np.isfinite(T[i, j]):
                continue
            cap = bsz / float(T[i, j])

            def level(
                r: int, rate_total: float = traffic.rate_per_s, i=i, j=j, bsz=bsz, cap=cap
            ) -> ServiceLevel:
                lam_r = rate_total / r
                rho = lam_r / cap
                t_b = float(T[i, j])
                if rho >= 1.0:
                    wait = math.inf
                else:
                    mu_b, lam_b = 1.0 / t_b, lam_r / bsz
                    wait = 0.0 if rho <= 0.01 else math.log(rho / 0.01) / (2.0 * (mu_b - lam_b))
                gather = min(max_queue_delay_s, (bsz - 1) / max(lam_r, 1e-12)) if bsz > 1 else 0.0
                lv = {
                    "ttft": wait + gather + float(FIRST[i, j]),
                    "tpot": float(TPOT[i, j]),
                    "e2e": wait + gather + t_b,
                }
                return ServiceLevel(
                    r,
                    float(bsz),
                    lam_r * t_b,
                    rho,
                    lv["ttft"],
                    lv["tpot"],
                    lv["e2e"],
                    cap,
                    _meets(lv, slo),
                )

            best = fewest_replicas(level, cap, traffic.rate_per_s, limit=max_replicas)
            if best is not None:
                room = slo_headroom(level, best.replicas, traffic.rate_per_s)
                choices.append((best.replicas, best.e2e_p99_s, bsz, best, room))
        if not fits[i].any():
            out.append(FleetChoice(None, batches[0], "memory"))
        elif not choices:
            out.append(FleetChoice(None, batches[0], "slo"))
        else:
            _, _, bsz, lv, room = min(choices, key=lambda c: (c[0], c[1]))
            out.append(FleetChoice(lv, bsz, "", room))
    return out
