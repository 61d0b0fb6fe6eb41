"""Closed-form queueing results used by the serving fast path and to check the simulator.

* **M/M/c** (Erlang C): probability of waiting ``C(c, a)`` with offered load ``a = λ/μ``;
  mean wait ``W_q = C / (c μ - λ)``; the wait is exponential beyond zero, so
  ``P(W > t) = C exp(-(c μ - λ) t)`` (Kleinrock 1975, *Queueing Systems* vol. 1, §3.5).
* **M/D/1** (Pollaczek-Khinchine with deterministic service ``D``):
  ``W_q = ρ D / (2 (1 - ρ))``.
* **M/G/c** (Allen-Cunneen approximation): the M/M/c wait scaled by ``(1 + c_s²) / 2``
  with ``c_s`` the coefficient of variation of service time; its tail is taken
  exponential with the same scaling of the decay rate.
"""

from __future__ import annotations

import math


def erlang_c(c: int, a: float) -> float:
    """Probability that an arrival waits in M/M/c with offered load ``a`` (Erlangs).

    Computed through the Erlang B recursion ``B_k = a B_{k-1} / (k + a B_{k-1})`` (stable
    for large ``c``); ``C = B / (1 - ρ (1 - B))``. Returns 1 when ``a >= c``.
    """
    if c < 1:
        raise ValueError("c must be >= 1")
    if a >= c:
        return 1.0
    if a <= 0:
        return 0.0
    b = 1.0
    for k in range(1, c + 1):
        b = a * b / (k + a * b)
    rho = a / c
    return b / (1.0 - rho * (1.0 - b))


def mmc_mean_wait_s(arrival_per_s: float, service_per_s: float, c: int) -> float:
    """Mean time in queue of M/M/c; ``inf`` when unstable."""
    if arrival_per_s >= c * service_per_s:
        return math.inf
    return erlang_c(c, arrival_per_s / service_per_s) / (c * service_per_s - arrival_per_s)


def mgc_wait_quantile_s(
    arrival_per_s: float, mean_service_s: float, c: int, q: float, service_cv2: float = 1.0
) -> float:
    """``q``-quantile of the wait in M/G/c (Allen-Cunneen scaled exponential tail).

    ``P(W > t) = C exp(-2 (c μ - λ) t / (1 + c_s²))``; 0 when ``C <= 1 - q``.
    """
    if mean_service_s <= 0:
        return 0.0
    mu = 1.0 / mean_service_s
    if arrival_per_s >= c * mu:
        return math.inf
    pw = erlang_c(c, arrival_per_s * mean_service_s)
    if pw <= 1.0 - q:
        return 0.0
    rate = 2.0 * (c * mu - arrival_per_s) / (1.0 + service_cv2)
    return math.log(pw / (1.0 - q)) / rate


def md1_mean_wait_s(arrival_per_s: float, service_s: float) -> float:
    """Mean time in queue of M/D/1; ``inf`` when ``ρ >= 1``."""
    rho = arrival_per_s * service_s
    if rho >= 1.0:
        return math.inf
    return rho * service_s / (2.0 * (1.0 - rho))
