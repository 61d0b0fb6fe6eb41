"""p99 time per output token under continuous batching with lumpy prefills.

A request's TPOT, as clients and benchmarks measure it, is the mean gap between its output
tokens: ``TPOT = (t_last - t_first) / m`` over its ``m = n_out - 1`` decode iterations.
Under iteration-level scheduling (vLLM, TensorRT-LLM, SGLang) every iteration emits one
token for every running request, and an iteration that also prefills a newly admitted
prompt takes longer. The p99 TPOT is therefore set by two things the mean hides:

* **Prefill interruptions.** A pure decode iteration of the ``n`` running requests takes
  ``τ_d(n)``; one that also prefills a prompt of ``L`` tokens takes ``τ_d(n) + Δ(L)``
  (both from the step model :func:`aidc.model.inference_step.step_time`; ``Δ`` is large
  once the prompt makes the step compute-bound). Prompts arrive at ``λ`` per replica
  (Poisson), one prefill iteration each, so a request decoding for ``W`` seconds sees
  ``K ~ Poisson(λ W)`` of them, ``X = Σ_{j≤K} Δ(L_j)`` extra seconds, and

      TPOT = τ_d(n) + X / m,      W = m τ̄,      τ̄ = τ_d(n) / (1 - λ E[Δ])

  (``τ̄`` the mean gap: per second, ``λ`` prefill iterations of ``τ_d + Δ`` and decode
  iterations of ``τ_d`` fill the time). Short requests (small ``m``) average over few
  gaps, so their TPOT varies most: the p99 over requests comes from the short ones that
  met several prompts. The compound Poisson sum ``X`` is replaced by a scaled Poisson
  ``d K'`` with the same mean and variance, ``d = E[Δ²]/E[Δ]``,
  ``K' ~ Poisson(λ W E[Δ]/d)``, whose tail ``P(K' > k) = P(Γ(k+1) ≤ μ')`` is taken
  continuous in ``k`` (Wilson-Hilferty cube-root normal approximation of the gamma law,
  Johnson, Kotz and Balakrishnan, *Continuous Univariate Distributions* vol. 1, §17.5).
* **Batch-size fluctuation.** The number of running requests is Poisson with mean ``n``
  (M/G/∞ below the slot cap; variance ``n / R`` per replica when a least-outstanding
  balancer spreads ``R`` replicas' load evenly). A request averages it over its own life
  ``W``; with an exponential correlation time equal to the mean residence ``S̄``, the
  variance of that average is ``v g(W/S̄)``, ``g(x) = 2 (x - 1 + e^{-x}) / x²``. It enters
  ``τ_d`` through a three-point Gauss-Hermite rule (``n ± √3 σ``, weights 1/6, 2/3, 1/6),
  clipped to ``[1, slots]``.

The p99 solves ``Σ_m w_m Σ_h v_h P(TPOT > x | m, n_h) = 0.01`` over a quadrature of the
output-length distribution (lognormal from the traffic's mean and p99; requests with one
output token have no TPOT and are left out, as the simulator and benchmarks do). Prompt
lengths enter through ``E[Δ]`` and ``E[Δ²]`` over a Gauss-Hermite rule in log length.

Prompts are prefilled whole in one iteration, as the simulator
(:mod:`aidc.model.serving_sim`) admits them; prompts that arrive within one iteration
share it (counted here as separate interruptions, a slight overestimate at high rates).
"""

from __future__ import annotations

import math

import numpy as np

from aidc.model.inference import _add
from aidc.model.inference_arrays import Deployment
from aidc.model.inference_step import decode_work, prefill_work, step_time

Z99 = 2.3263478740408408
TAIL_Q = 0.01  # P(TPOT > p99)
OUTPUT_POINTS = 16  # quadrature of the output-length distribution
PROMPT_POINTS = 5  # Gauss-Hermite points in log prompt length
BISECTION_STEPS = 16  # the bracket spans < 100x the p99: 2^-16 of it is < 0.2%
_GH3 = ((0.0, 2.0 / 3.0), (math.sqrt(3.0), 1.0 / 6.0), (-math.sqrt(3.0), 1.0 / 6.0))


def lognormal_sigma(mean: float, p99: float | None) -> float:
    """Log-space standard deviation of a lognormal with this mean and p99 (0 if fixed)."""
    if p99 is None or p99 <= mean:
        return 0.0
    r = math.log(p99 / mean)
    return Z99 - math.sqrt(max(Z99 * Z99 - 2.0 * r, 0.0))


def _norm_cdf(z: np.ndarray) -> np.ndarray:
    """Standard normal CDF (Abramowitz and Stegun 7.1.26 for erf, |error| < 1.5e-7)."""
    x = np.abs(z) / math.sqrt(2.0)
    t = 1.0 / (1.0 + 0.3275911 * x)
    poly = t * (
        0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429)))
    )
    erf = 1.0 - poly * np.exp(-x * x)
    return 0.5 * (1.0 + np.sign(z) * erf)


def poisson_tail(k: np.ndarray, mu: np.ndarray) -> np.ndarray:
    """``P(K > k)`` for ``K ~ Poisson(mu)``, continuous in ``k``: ``P(Γ(k+1) ≤ mu)``
    (Wilson-Hilferty); 1 for ``k < 0``."""
    a = np.maximum(k, 0.0) + 1.0
    mu = np.maximum(mu, 0.0)
    z = (np.cbrt(mu / a) - 1.0 + 1.0 / (9.0 * a)) * 3.0 * np.sqrt(a)
    return np.where(k < 0.0, 1.0, np.where(mu > 0.0, _norm_cdf(z), 0.0))


def _output_quadrature(mean: float, p99: float | None) -> tuple[np.ndarray, np.ndarray]:
    """Decode gaps ``m = n_out - 1`` and weights over requests with ``n_out >= 2``: midpoint
    rule in probability, denser toward short requests (they set the tail)."""
    s = lognormal_sigma(mean, p99)
    if s == 0.0:
        return np.array([max(round(mean) - 1.0, 1.0)]), np.array([1.0])
    mu = math.log(mean) - s * s / 2.0
    edges = np.linspace(0.0, 1.0, OUTPUT_POINTS + 1) ** 2
    u = 0.5 * (edges[1:] + edges[:-1])
    w = np.diff(edges)
    z = np.array([_norm_ppf(float(p)) for p in u])
    out = np.maximum(np.rint(np.exp(mu + s * z)), 1.0)
    keep = out >= 2.0
    if not keep.any():
        return np.array([1.0]), np.array([1.0])
    return out[keep] - 1.0, w[keep] / w[keep].sum()


def _norm_ppf(p: float) -> float:
    """Inverse standard normal CDF (bisection on :func:`math.erf`; a few dozen points)."""
    lo, hi = -10.0, 10.0
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        if 0.5 * (1.0 + math.erf(mid / math.sqrt(2.0))) < p:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def decode_and_prefill_s(
    dep: Deployment,
    n: np.ndarray,
    context: np.ndarray | float,
    prompt_mean: float,
    prompt_p99: float | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``τ_d(n)`` (a decode iteration of ``n`` requests at mean context ``context``) and
    ``E[Δ]``, ``E[Δ²]`` (the extra time of an iteration that also prefills one prompt),
    per row of ``dep``; an iteration is a round of the ``pp`` pipeline micro-batches, as in
    :func:`aidc.model.inference.continuous_generation`."""
    pp = dep.pp
    rows = len(dep)
    n = np.asarray(n, float) + 0.0 * pp

    def round_s(d: Deployment, work) -> np.ndarray:  # type: ignore[no-untyped-def]
        st = step_time(d, work)
        return d.pp * (st.stage_s + st.lm_head_s + st.p2p_s + st.overhead_s)

    ctx = np.asarray(context, float) + 0.0 * pp
    tau = round_s(dep, decode_work(n / pp, ctx))
    s = lognormal_sigma(prompt_mean, prompt_p99)
    if s == 0.0:
        nodes, wts = np.array([0.0]), np.array([1.0])
    else:
        nodes, wts = np.polynomial.hermite_e.hermegauss(PROMPT_POINTS)
        wts = wts / wts.sum()
    lengths = np.maximum(
        np.rint(prompt_mean * np.exp(s * nodes - s * s / 2.0)), 1.0
    )  # lognormal quantiles with the given mean
    k = len(lengths)
    idx = np.repeat(np.arange(rows), k)
    d = dep.take(idx)
    L = np.tile(lengths, rows)
    mixed = _add(
        decode_work(np.repeat(n, k) / d.pp, np.repeat(ctx, k)), prefill_work(1.0 / d.pp, L)
    )
    delta = np.maximum(round_s(d, mixed) - np.repeat(tau, k), 0.0).reshape(rows, k)
    e1 = delta @ wts
    e2 = (delta * delta) @ wts
    return tau, e1, e2


def decode_round_s(dep: Deployment, n: np.ndarray, context: np.ndarray) -> np.ndarray:
    """``τ_d``: one decode iteration of ``n`` requests (rows x k batch sizes for the rows
    of ``dep``, one step-model call), at mean cached context ``context`` (per row)."""
    n = np.asarray(n, float)
    rows, k = n.shape
    d = dep.take(np.repeat(np.arange(rows), k))
    ctx = np.repeat(np.asarray(context, float) + 0.0 * dep.pp, k)
    st = step_time(d, decode_work(n.ravel() / d.pp, ctx))
    return (d.pp * (st.stage_s + st.lm_head_s + st.p2p_s + st.overhead_s)).reshape(rows, k)


def tpot_p99_s(
    dep: Deployment,
    *,
    n: np.ndarray,
    context: np.ndarray | float,
    rate_per_s: np.ndarray,
    delta_mean_s: np.ndarray,
    delta_sq_mean_s2: np.ndarray,
    slots: np.ndarray,
    batch_var: np.ndarray,
    output_mean: float,
    output_p99: float | None,
) -> np.ndarray:
    """p99 over requests of their mean time per output token (see the module docstring),
    per row of ``dep`` at mean batch ``n`` and prompt arrival rate ``rate_per_s`` (per
    replica). ``batch_var`` is the variance of the batch size at an instant (``n``, or
    ``n / R`` under least-outstanding balancing over ``R`` replicas); ``E[Δ]``, ``E[Δ²]``
    from :func:`decode_and_prefill_s`. ``inf`` where prefills alone fill the time
    (``λ E[Δ] >= 1``).
    """
    n = np.asarray(n, float) + 0.0 * dep.pp
    ctx = np.asarray(context, float) + 0.0 * n
    lam = np.asarray(rate_per_s, float) + 0.0 * n
    e1 = np.asarray(delta_mean_s, float) + 0.0 * n
    e2 = np.asarray(delta_sq_mean_s2, float) + 0.0 * n
    slots = np.asarray(slots, float) + 0.0 * n
    var = np.asarray(batch_var, float) + 0.0 * n
    busy = lam * e1
    ok = busy < 1.0
    # Little's law with the lumpy mean gap: n = λ (τ_d(n) + E[Δ] + (n̄_out - 1) τ̄(n)),
    # τ̄ = τ_d / (1 - λ E[Δ]); τ_d linear in n through two step-model points (secant),
    # solved in closed form, then once more with the secant through the solution
    m_mean = max(output_mean - 1.0, 0.0)
    free = np.where(ok, 1.0 - busy, 1.0)
    n0 = n
    n1 = np.minimum(1.5 * n + 1.0, slots) + (np.minimum(1.5 * n + 1.0, slots) <= n)
    for _ in range(2):
        t = decode_round_s(dep, np.stack([n0, n1], axis=1), ctx)
        slope = (t[:, 1] - t[:, 0]) / (n1 - n0)
        a = t[:, 0] - slope * n0
        k = 1.0 + m_mean / free
        denom = 1.0 - lam * k * slope
        n_new = np.where(denom > 0.0, lam * (k * a + e1) / np.maximum(denom, 1e-12), slots)
        n_new = np.where(ok, np.clip(n_new, 1.0, slots), n)
        n0, n1 = n_new, np.where(np.abs(n_new - n0) > 0.5, n0, n_new + 1.0)
    n = n0

    m, wm = _output_quadrature(output_mean, output_p99)
    x_rel = m / max(output_mean, 1.0)
    g = 2.0 * (x_rel - 1.0 + np.exp(-x_rel)) / (x_rel * x_rel)  # variance share kept
    sd = np.sqrt(var[:, None] * g[None, :])  # rows x outputs
    nh = np.stack([np.clip(n[:, None] + z * sd, 1.0, slots[:, None]) for z, _ in _GH3], axis=-1)
    tau_h = a[:, None, None] + slope[:, None, None] * nh  # τ_d on the last secant
    tau_bar = (a + slope * n) / free  # mean gap
    d = np.where(e1 > 0.0, e2 / np.maximum(e1, 1e-300), 0.0)  # scaled-Poisson jump, s
    weights = wm[None, :, None] * np.array([v for _, v in _GH3])[None, None, :]
    rate_k = lam * tau_bar * np.where(d > 0.0, e1 / np.maximum(d, 1e-300), 0.0)
    mm = m[None, :, None]
    mu_k = rate_k[:, None, None] * mm  # scaled-Poisson mean for a request of m gaps
    dd = d[:, None, None]

    def tail(x: np.ndarray) -> np.ndarray:
        gap = x[:, None, None] - tau_h
        if_jumps = poisson_tail(gap * mm / np.maximum(dd, 1e-300), mu_k)
        p = np.where(dd > 0.0, if_jumps, (gap < 0.0).astype(float))
        return (weights * p).sum(axis=(1, 2))

    lo = tau_h.min(axis=(1, 2))
    top = (mu_k + 8.0 * np.sqrt(mu_k) + 8.0) * dd / mm
    hi = (tau_h + top).max(axis=(1, 2)) * 1.01 + 1e-12
    for _ in range(BISECTION_STEPS):
        mid = 0.5 * (lo + hi)
        above = tail(mid) > TAIL_Q
        lo = np.where(above, mid, lo)
        hi = np.where(above, hi, mid)
    return np.where(ok, hi, np.inf)


# ----------------------------------------------------------------------------- p99 TTFT

TTFT_PROMPT_POINTS = 12  # own-prompt quadrature (midpoint in probability, dense in the tail)


def _prompt_quadrature(mean: float, p99: float | None) -> tuple[np.ndarray, np.ndarray]:
    """Prompt lengths and weights: midpoint rule in probability on the lognormal with this
    mean and p99, denser toward long prompts (they set the TTFT tail)."""
    s = lognormal_sigma(mean, p99)
    if s == 0.0:
        return np.array([max(round(mean), 1.0)]), np.array([1.0])
    edges = 1.0 - (1.0 - np.linspace(0.0, 1.0, TTFT_PROMPT_POINTS + 1)) ** 2
    u = 0.5 * (edges[1:] + edges[:-1])
    z = np.array([_norm_ppf(float(p)) for p in u])
    mu = math.log(mean) - s * s / 2.0
    return np.maximum(np.rint(np.exp(mu + s * z)), 1.0), np.diff(edges)


H_POINTS = 24  # grid of the residual-plus-sharers time H, per row
K_MAX = 8  # prompts in the iteration in progress (the rest of the mass is put at K_MAX)
U_POINTS = 3  # midpoint rule for the uniform residual
ROW_CHUNK = 1024


def _residual_tail(
    tau: np.ndarray,
    lam: np.ndarray,
    m1: np.ndarray,
    var_t: np.ndarray,
    delta: np.ndarray,
    w: np.ndarray,
    e1: np.ndarray,
    e2: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """``P(H > h)`` on a grid ``h = 0 .. h_top`` (rows x :data:`H_POINTS`) and ``h_top``.

    The iteration in progress carries ``K`` prompts, ``K`` negative binomial with the
    mean ``λ E[T]`` and variance ``λ E[T] + λ² Var T`` of the arrivals in the previous
    iteration; it is ``T_1j = a + Δ_j`` long for one prompt (on the length quadrature),
    ``T_k = a + k E[Δ]`` for ``k >= 2``, and is hit with length bias
    (``π ∝ P(K = k) w_j T``). Given it, ``H = U T_kj + d J``, ``J ~ Poisson(λ T_kj
    E[Δ] / d)``, ``d = E[Δ²] / E[Δ]`` (the scaled Poisson of the module docstring for the
    prompts that share the arrival's iteration), ``U`` on a midpoint rule.
    """
    rows = len(tau)
    mean_k = lam * m1
    var_k = np.maximum(mean_k + lam * lam * var_t, mean_k * (1.0 + 1e-9))
    p_nb = np.where(mean_k > 0.0, mean_k / np.maximum(var_k, 1e-300), 1.0)  # NB success prob
    r_nb = mean_k * p_nb / np.maximum(1.0 - p_nb, 1e-300)
    pk = np.empty((rows, K_MAX + 1))
    pk[:, 0] = np.exp(r_nb * np.log(np.maximum(p_nb, 1e-300)))
    for k in range(1, K_MAX + 1):
        pk[:, k] = pk[:, k - 1] * (r_nb + k - 1.0) / k * (1.0 - p_nb)
    pk[:, K_MAX] += np.maximum(1.0 - pk.sum(axis=1), 0.0)
    kk = np.arange(2, K_MAX + 1, dtype=float)
    T = np.concatenate(  # rows x (1 + own points + K_MAX - 1)
        [tau[:, None], tau[:, None] + delta, tau[:, None] + kk[None, :] * e1[:, None]], axis=1
    )
    prob = np.concatenate([pk[:, :1], pk[:, 1:2] * w[None, :], pk[:, 2:]], axis=1) * T
    prob /= prob.sum(axis=1, keepdims=True)
    d = np.where(e1 > 0.0, e2 / np.maximum(e1, 1e-300), 0.0)
    mu = lam[:, None] * T * np.where(d > 0.0, e1 / np.maximum(d, 1e-300), 0.0)[:, None]
    h_top = T.max(axis=1) + (mu.max(axis=1) + 8.0 * np.sqrt(mu.max(axis=1)) + 8.0) * d
    h = h_top[:, None] * np.linspace(0.0, 1.0, H_POINTS)[None, :]
    surv = np.zeros((rows, H_POINTS))
    for lo in range(0, rows, ROW_CHUNK):  # bounded temporaries
        sl = slice(lo, lo + ROW_CHUNK)
        dd = np.maximum(d[sl], 1e-300)[:, None, None]
        for u in (np.arange(U_POINTS) + 0.5) / U_POINTS:
            gap = h[sl, :, None] - u * T[sl, None, :]
            jumps = poisson_tail(gap / dd, mu[sl, None, :])
            p = np.where(d[sl, None, None] > 0.0, jumps, (gap < 0.0).astype(float))
            surv[sl] += (p * prob[sl, None, :]).sum(axis=2) / U_POINTS
    return surv, h_top


def ttft_tail_s(
    dep: Deployment,
    *,
    n: np.ndarray,
    context: np.ndarray | float,
    rate_per_s: np.ndarray,
    prompt_mean: float,
    prompt_p99: float | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """p99, mean and variance (s, s, s²) of the time to first token of a request admitted
    at once (a free slot), per row of ``dep`` at mean batch ``n`` and prompt arrivals
    ``rate_per_s`` per replica; ``inf`` where prefills fill the time (``λ E[Δ] >= 1``).

    Continuous batching as the simulator runs it: a prompt arriving during an iteration is
    admitted at the next iteration boundary together with every prompt that arrived during
    the same iteration (the whole queue, gated), prefilled whole, and its first token comes
    at the end of that iteration. With ``a = τ_d(n)`` a decode iteration and ``Δ(L)`` the
    extra time of a prompt of ``L`` tokens (:func:`decode_and_prefill_s`), iteration
    lengths follow ``T_{k+1} = a + Σ_{j ≤ K} Δ_j``, ``K ~ Poisson(λ T_k)`` (a single-queue
    gated polling system with switch-over ``a``; Takagi, *Queueing Analysis* vol. 1,
    §2.3). Stationary cumulants (``ρ = λ E[Δ]``, law of total cumulance):

        E[T] = a / (1 - ρ),   Var T = λ E[T] E[Δ²] / (1 - ρ²),
        κ₃(T) = (λ E[T] E[Δ³] + 3 λ² E[Δ] E[Δ²] Var T) / (1 - ρ³).

    An arrival lands in an iteration ``T*`` picked with length bias
    (``E[T*^k] = E[T^{k+1}] / E[T]``), waits its residual ``U T*`` (``U`` uniform) and
    shares its own iteration with the ``Poisson(λ T*)`` other prompts that arrived during
    ``T*``:

        TTFT = a + Δ(L_own) + H,   H = U T* + Σ_{j ≤ Poisson(λ T*)} Δ_j,
        E[H] = (1/2 + ρ) E[T*],
        Var H = E[T*²] / 12 + λ E[Δ²] E[T*] + (1/2 + ρ)² Var T*.

    The tail of ``H`` comes from :func:`_residual_tail` (mixing over the prompts in the
    iteration in progress), ``L_own`` on a quadrature of the lognormal prompt lengths, and
    the p99 solves ``Σ_j w_j P(H > x - a - Δ(L_j)) = 0.01`` (bisection). Multi-prompt iterations count each prompt's ``Δ`` in full (prefill is
    compute-bound) and the token budget is not modelled; waiting for a slot is added by
    :func:`with_slot_wait_s`.
    """
    rows = len(dep)
    n = np.asarray(n, float) + 0.0 * dep.pp
    ctx = np.asarray(context, float) + 0.0 * n
    lam = np.asarray(rate_per_s, float) + 0.0 * n
    lengths, w = _prompt_quadrature(prompt_mean, prompt_p99)
    k = len(lengths)
    idx = np.repeat(np.arange(rows), k)
    d = dep.take(idx)
    tau = decode_round_s(dep, n[:, None], ctx)[:, 0]
    mixed = _add(
        decode_work(np.repeat(n, k) / d.pp, np.repeat(ctx, k)),
        prefill_work(1.0 / d.pp, np.tile(lengths, rows)),
    )
    st = step_time(d, mixed)
    full = (d.pp * (st.stage_s + st.lm_head_s + st.p2p_s + st.overhead_s)).reshape(rows, k)
    delta = np.maximum(full - tau[:, None], 0.0)
    e1, e2, e3 = (delta**p @ w for p in (1, 2, 3))
    rho = lam * e1
    ok = rho < 1.0
    free = np.where(ok, 1.0 - rho, 1.0)
    m1 = tau / free
    var_t = lam * m1 * e2 / (1.0 - np.where(ok, rho, 0.0) ** 2)
    k3 = (lam * m1 * e3 + 3.0 * lam * lam * e1 * e2 * var_t) / (1.0 - np.where(ok, rho, 0.0) ** 3)
    t1 = (var_t + m1 * m1) / m1  # E[T*]
    t2 = (k3 + 3.0 * m1 * var_t + m1**3) / m1  # E[T*²]
    h_mean = (0.5 + rho) * t1
    h_var = t2 / 12.0 + lam * e2 * t1 + (0.5 + rho) ** 2 * np.maximum(t2 - t1 * t1, 0.0)
    surv, h_top = _residual_tail(tau, lam, m1, var_t, delta, w, e1, e2)
    base = tau[:, None] + delta  # rows x own lengths
    step = h_top / (H_POINTS - 1)

    def tail(x: np.ndarray) -> np.ndarray:
        pos = np.clip((x[:, None] - base) / step[:, None], 0.0, H_POINTS - 1.0)
        i0 = np.minimum(pos.astype(int), H_POINTS - 2)
        f = pos - i0
        s0 = np.take_along_axis(surv, i0, axis=1)
        s1 = np.take_along_axis(surv, i0 + 1, axis=1)
        return (s0 + f * (s1 - s0)) @ w

    lo = base.min(axis=1)
    hi = base.max(axis=1) + h_top
    for _ in range(BISECTION_STEPS + 4):
        mid = 0.5 * (lo + hi)
        above = tail(mid) > TAIL_Q
        lo = np.where(above, mid, lo)
        hi = np.where(above, hi, mid)
    g_mean = tau + e1 + h_mean
    g_var = e2 - e1 * e1 + h_var
    return np.where(ok, hi, np.inf), np.where(ok, g_mean, np.inf), np.where(ok, g_var, np.inf)


def with_slot_wait_s(
    g99: float, g_mean: float, g_var: float, wait_prob: float, wait_rate_per_s: float
) -> float:
    """p99 of ``W + G``: ``G`` the TTFT once admitted (:func:`ttft_tail_s`), ``W`` the wait
    for a slot, ``P(W > t) = C e^{-θ t}`` (M/G/c, :mod:`aidc.model.queueing`). Where
    ``C > 1%`` the sum's tail is ``C e^{-θ x} E[e^{θ G}]`` (independent parts), so
    ``x = ln(C / 0.01) / θ + ln E[e^{θ G}] / θ`` with ``ln E[e^{θ G}] / θ ≈ E[G] + θ Var G / 2``
    (capped at the p99 of ``G``); never below the p99 of ``G``."""
    if not math.isfinite(g99) or not wait_rate_per_s > 0.0:
        return math.inf
    if wait_prob <= TAIL_Q:
        return g99
    shift = min(g_mean + 0.5 * wait_rate_per_s * g_var, g99)
    return max(g99, math.log(wait_prob / TAIL_Q) / wait_rate_per_s + shift)
