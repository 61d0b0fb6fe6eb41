"""AHP: principle weights from pairwise judgements, with Saaty's consistency check.

A judgement ``"a>b": v`` says principle *a* matters *v* times as much as *b* (Saaty's
1/9..9 scale). The reciprocal matrix ``A`` has ``A[a,b] = v`` and ``A[b,a] = 1/v``; the
weights are its principal right eigenvector normalised to sum 1 (Saaty 1980, *The
Analytic Hierarchy Process*). Consistency: ``CI = (lambda_max - n) / (n - 1)`` and
``CR = CI / RI(n)`` with Saaty's random index RI; judgements with ``CR > 0.10`` are
rejected, naming the pair that disagrees most with the weights the others imply
(largest ``|ln(A[a,b] * w_b / w_a)|``).

Only the principles named in the judgements take part; every pair among them must be
judged, and principles not named get weight 0 (stated in the result).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from aidc.decide.metrics import PRINCIPLES

RANDOM_INDEX = {1: 0.0, 2: 0.0, 3: 0.58, 4: 0.90, 5: 1.12, 6: 1.24, 7: 1.32, 8: 1.41, 9: 1.45}
"""Saaty's random consistency index RI(n) (Saaty 1980, Table 1.4)."""
MAX_CONSISTENCY_RATIO = 0.10
"""Saaty's threshold: CR above 10% means the judgements should be revised."""
SCALE_MIN, SCALE_MAX = 1.0 / 9.0, 9.0
FIELD = "preferences.ahp_pairwise"
"""Where the judgements live in a scenario (messages are about this field)."""


@dataclass(frozen=True)
class AhpResult:
    weights: dict[str, float]  # every principle; those not compared get 0
    compared: tuple[str, ...]
    lambda_max: float
    consistency_index: float
    consistency_ratio: float
    worst_pair: str | None  # "a>b" that disagrees most with the implied weights
    worst_pair_given: float | None
    worst_pair_implied: float | None


def parse_pair(key: str, allowed: Sequence[str] = PRINCIPLES) -> tuple[str, str]:
    """``"a>b"`` -> ``(a, b)``; ValueError naming the key and the allowed names."""
    parts = [p.strip() for p in key.split(">")]
    if len(parts) != 2 or not all(parts):
        raise ValueError(f"key {key!r} must look like 'performance>cost_effectiveness'")
    for p in parts:
        if p not in allowed:
            raise ValueError(
                f"{key!r} names unknown principle {p!r}; allowed: {', '.join(allowed)}"
            )
    if parts[0] == parts[1]:
        raise ValueError(f"{key!r} compares a principle with itself")
    return parts[0], parts[1]


def pairwise_matrix(
    judgements: Mapping[str, float], allowed: Sequence[str] = PRINCIPLES
) -> tuple[tuple[str, ...], np.ndarray]:
    """The reciprocal matrix over the principles named (in ``allowed`` order).

    Raises ValueError (one line naming the pair) for a value off the 1/9..9 scale, two
    judgements of one pair that are not reciprocal, or a missing pair.
    """
    if not judgements:
        raise ValueError("give at least one judgement, e.g. 'performance>security': 3")
    given: dict[tuple[str, str], float] = {}
    for key, value in judgements.items():
        a, b = parse_pair(key, allowed)
        v = float(value)
        if not (math.isfinite(v) and SCALE_MIN - 1e-12 <= v <= SCALE_MAX + 1e-12):
            raise ValueError(f"{key!r} = {value!r} is off Saaty's scale 1/9..9")
        if (b, a) in given and abs(given[(b, a)] * v - 1.0) > 1e-6:
            raise ValueError(
                f"'{a}>{b}' = {v:g} contradicts '{b}>{a}' = {given[(b, a)]:g} "
                f"(they must be reciprocal: {1.0 / given[(b, a)]:g})"
            )
        given[(a, b)] = v
    names = tuple(p for p in allowed if any(p in pair for pair in given))
    idx = {p: i for i, p in enumerate(names)}
    n = len(names)
    mat = np.ones((n, n))
    for (a, b), v in given.items():
        mat[idx[a], idx[b]] = v
        mat[idx[b], idx[a]] = 1.0 / v
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            if (a, b) not in given and (b, a) not in given:
                raise ValueError(
                    f"missing pair '{a}>{b}' (every pair of the principles you "
                    f"compare needs a judgement: {n * (n - 1) // 2} pairs for {n})"
                )
    return names, mat


def principal_eigen(mat: np.ndarray) -> tuple[float, np.ndarray]:
    """Largest eigenvalue and its eigenvector normalised to sum 1 (positive matrix)."""
    vals, vecs = np.linalg.eig(mat)
    k = int(np.argmax(vals.real))
    v = np.abs(vecs[:, k].real)
    return float(vals[k].real), v / v.sum()


def ahp_weights(
    judgements: Mapping[str, float], *, max_cr: float = MAX_CONSISTENCY_RATIO
) -> AhpResult:
    """Weights of the five principles from pairwise judgements; ValueError if inconsistent."""
    names, mat = pairwise_matrix(judgements)
    given = {parse_pair(k) for k in judgements}
    n = len(names)
    lam, w = principal_eigen(mat)
    ci = max(0.0, (lam - n) / (n - 1)) if n > 1 else 0.0
    ri = RANDOM_INDEX.get(n, 1.49)
    cr = ci / ri if ri > 0 else 0.0
    worst, worst_given, worst_implied = None, None, None
    if n > 2:
        dev = np.abs(np.log(mat * w[None, :] / w[:, None]))
        i, j = np.unravel_index(int(np.argmax(np.triu(dev, 1))), dev.shape)
        if (names[i], names[j]) not in given:  # name the pair the way the user wrote it
            i, j = j, i
        worst = f"{names[i]}>{names[j]}"
        worst_given, worst_implied = float(mat[i, j]), float(w[i] / w[j])
    if cr > max_cr:
        raise ValueError(
            f"inconsistent judgements (consistency ratio {cr:.2f} > {max_cr:.2f}); "
            f"'{worst}' = {worst_given:g} disagrees most: the other judgements imply "
            f"{worst_implied:.2g}"
        )
    weights = {p: 0.0 for p in PRINCIPLES}
    for p, x in zip(names, w, strict=True):
        weights[p] = float(x)
    return AhpResult(
        weights=weights,
        compared=names,
        lambda_max=lam,
        consistency_index=ci,
        consistency_ratio=cr,
        worst_pair=worst,
        worst_pair_given=worst_given,
        worst_pair_implied=worst_implied,
    )
