"""Reliability and goodput: failures -> interruptions, checkpoint interval, goodput;
replica redundancy for an availability target.

Training (a synchronous job stops when any of its devices fails):

* job failure rate ``lambda_job = n * lambda_dev`` (devices fail independently at the
  per-device rate, which folds in the host, network and software share of a fleet's
  interruptions, as Meta's Llama 3 report counts them per GPU), mean time between
  failures ``M = 1 / lambda_job``; expected interruptions in a wall time ``T``:
  ``n lambda_dev T``.
* optimal checkpoint interval (Daly 2006, "A higher order estimate of the optimum
  checkpoint interval for restart dumps", FGCS 22(3), eq. 37), checkpoint cost ``d``:
  ``tau = sqrt(2 d M) [1 + sqrt(d / 2M) / 3 + (d / 2M) / 9] - d`` for ``d < 2M``, else
  ``M``; to first order this is Young's ``sqrt(2 d M)`` (CACM 17(9), 1974).
* wall time for useful work ``W`` (first-order renewal argument, Young 1974): each
  ``tau`` of work costs ``tau + d``; each unplanned failure loses half a segment plus
  the restart ``R``; each planned interruption (rate ``1/M_p``) costs ``R + d``::

      T = W (1 + d / tau) / (1 - (R + (tau + d) / 2) / M - (R + d) / M_p)

  goodput ``= W / T`` (0 when the denominator is not positive: the job never finishes).

Serving (replicas fail and are repaired independently):

* replica availability ``a = MTBF / (MTBF + MTTR)``, ``MTBF = 1 / (g lambda_dev)`` for a
  replica of ``g`` devices;
* service availability with ``k`` of ``n`` replicas needed:
  ``P(at least k up) = sum_{i>=k} C(n, i) a^i (1-a)^(n-i)`` (binomial; more replicas
  never lower it);
* spares for a target: the smallest ``s`` with ``P(at least k of k+s up) >= target``.

All functions take numpy arrays (one element per candidate) and return arrays.
"""

from __future__ import annotations

import math

import numpy as np

ArrayLike = np.ndarray | float


def job_mtbf_s(n_devices: ArrayLike, failure_rate_per_device_s: ArrayLike) -> np.ndarray:
    """Mean time between job-stopping failures, seconds (inf for a zero rate)."""
    rate = np.asarray(n_devices, float) * np.asarray(failure_rate_per_device_s, float)
    with np.errstate(divide="ignore"):
        return np.where(rate > 0, 1.0 / np.maximum(rate, 1e-300), np.inf)


def expected_interruptions(
    n_devices: ArrayLike, wall_time_s: ArrayLike, failure_rate_per_device_s: ArrayLike
) -> np.ndarray:
    return (
        np.asarray(n_devices, float)
        * np.asarray(wall_time_s, float)
        * np.asarray(failure_rate_per_device_s, float)
    )


def young_interval_s(checkpoint_s: ArrayLike, mtbf_s: ArrayLike) -> np.ndarray:
    """Young (1974): ``sqrt(2 d M)``."""
    return np.sqrt(2.0 * np.asarray(checkpoint_s, float) * np.asarray(mtbf_s, float))


def daly_interval_s(checkpoint_s: ArrayLike, mtbf_s: ArrayLike) -> np.ndarray:
    """Daly (2006) eq. 37: optimal compute time between checkpoints, seconds."""
    d = np.asarray(checkpoint_s, float)
    m = np.asarray(mtbf_s, float)
    x = d / (2.0 * m)
    tau = np.sqrt(2.0 * d * m) * (1.0 + np.sqrt(x) / 3.0 + x / 9.0) - d
    return np.where(d < 2.0 * m, np.maximum(tau, 0.0), m)


def goodput(
    interval_s: ArrayLike,
    checkpoint_s: ArrayLike,
    restart_s: ArrayLike,
    mtbf_s: ArrayLike,
    planned_mtbf_s: ArrayLike = np.inf,
) -> np.ndarray:
    """Useful share of wall time (module docstring); 0 when the job cannot finish."""
    tau = np.maximum(np.asarray(interval_s, float), 1e-12)
    d = np.asarray(checkpoint_s, float)
    r = np.asarray(restart_s, float)
    m = np.asarray(mtbf_s, float)
    mp = np.asarray(planned_mtbf_s, float)
    lost = (r + 0.5 * (tau + d)) / m + (r + d) / mp
    g = (1.0 - lost) / (1.0 + d / tau)
    return np.clip(g, 0.0, 1.0)


def training_goodput(
    n_devices: ArrayLike,
    failure_rate_per_device_s: ArrayLike,
    planned_rate_per_device_s: ArrayLike,
    checkpoint_s: ArrayLike,
    restart_s: ArrayLike,
) -> tuple[np.ndarray, np.ndarray]:
    """(goodput, checkpoint interval in s) at the Daly-optimal interval.

    With no unplanned failures no periodic checkpoint is needed (interval inf) and
    only planned interruptions cost time.
    """
    m = job_mtbf_s(n_devices, failure_rate_per_device_s)
    mp = job_mtbf_s(n_devices, planned_rate_per_device_s)
    d = np.asarray(checkpoint_s, float)
    r = np.asarray(restart_s, float)
    finite = np.isfinite(m)
    m_safe = np.where(finite, m, 1.0)
    tau = daly_interval_s(d, m_safe)
    g_fail = goodput(tau, d, r, m_safe, mp)
    g_none = np.clip(1.0 - (r + d) / mp, 0.0, 1.0)
    return np.where(finite, g_fail, g_none), np.where(finite, tau, np.inf)


def replica_availability(
    devices_per_replica: ArrayLike, failure_rate_per_device_s: ArrayLike, mttr_s: ArrayLike
) -> np.ndarray:
    """``MTBF / (MTBF + MTTR)`` of one replica of ``g`` devices."""
    mtbf = job_mtbf_s(devices_per_replica, failure_rate_per_device_s)
    mttr = np.asarray(mttr_s, float)
    return np.where(np.isfinite(mtbf), mtbf / (mtbf + mttr), 1.0)


def k_of_n_availability(k_needed: int, n_total: int, replica_avail: float) -> float:
    """P(at least ``k_needed`` of ``n_total`` independent replicas are up)."""
    if k_needed <= 0:
        return 1.0
    if n_total < k_needed:
        return 0.0
    a = float(replica_avail)
    return float(
        sum(
            math.comb(n_total, i) * a**i * (1.0 - a) ** (n_total - i)
            for i in range(k_needed, n_total + 1)
        )
    )


def spares_for_availability(
    k_needed: int, replica_avail: float, target: float, max_spares: int = 64
) -> int:
    """Fewest spare replicas so that ``k_needed`` are up with probability ``>= target``.

    Returns ``max_spares + 1`` when even ``max_spares`` spares do not reach the target.
    """
    for s in range(max_spares + 1):
        if k_of_n_availability(k_needed, k_needed + s, replica_avail) >= target:
            return s
    return max_spares + 1
