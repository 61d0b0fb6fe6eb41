"""Vectorised fleet search: for many designs at once, the fewest replicas that meet the
SLO at the traffic's peak rate, and the headroom they leave.

The step model is evaluated at ``GRID_POINTS`` concurrency (or batch) levels per design
and interpolated between them; each design's service level then follows the analytic
fast path of :mod:`aidc.model.serving` (Little's law fixed point, M/G/c slot wait, the
p99 tails of :mod:`aidc.model.serving_tail`). The planner simulates its finalists.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from aidc.model.inference import continuous_generation, encoder_pass, static_generation
from aidc.model.inference_arrays import Deployment
from aidc.model.serving import (
    BIG_S,
    LatencySlo,
    ServiceLevel,
    TrafficShape,
    batch_wait_s,
    fewest_replicas,
    lognormal_cv2,
    meets_slo,
    tpot_tail,
    wait_tail,
)
from aidc.model.serving_tail import ttft_tail_s, with_slot_wait_s

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
    tails = tpot_tail(
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
            pw, theta = wait_tail(rate, s, max(servers, 1), cv2)
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
                meets_slo(lv, slo),
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
                wait, gather = batch_wait_s(lam_r, t_b, bsz, max_queue_delay_s)
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
                    meets_slo(lv, slo),
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
