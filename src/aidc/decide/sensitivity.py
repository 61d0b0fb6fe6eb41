"""How stable is the decision? Monte Carlo over weights and over model and price error,
and what would have to change for the runner-up to win.

* **Weights**: each principle's weight is multiplied by a factor drawn log-uniformly in
  ``[1/spread, spread]`` and the weights renormalised; the share of draws in which the
  chosen design still ranks first is its *weight stability*.
* **Uncertainty**: the performance models' relative error and the price ranges enter as
  random factors shared by every design on the same accelerator (an error in a device's
  efficiency, or its price, moves all its designs together): the performance factor
  ``f = exp(N(0, ln(1 + band)))`` multiplies time-like metrics and divides rates; the
  price factor ``p ~ U(low, high)`` (relative to the price used) and ``f`` multiply
  costs (as if cost were proportional to both — an overstatement where energy or a
  fixed fleet dominates). Metrics are renormalised per draw and re-ranked.
* **Runner-up flip**: the smallest change to one principle's weight (the others keeping
  their proportions), and the smallest rise in the winner's costs or times, that make
  the runner-up score above the winner — the top two swap (a third design may overtake
  both on the way; the Monte Carlo shares show that). Found on a coarse grid refined by
  bisection, with the same ranking code.

The random generator is passed in (seeded by the caller); nothing here reads the clock.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from aidc.decide.metrics import METRICS, PRINCIPLES
from aidc.decide.rank import SCORE_DECIMALS, key_ranks, score_matrix

WEIGHT_SPREAD = 2.0
"""Weights are perturbed by factors in [1/2, 2]: 'this principle matters half or twice
as much as stated' — a modelling choice, reported with the result."""
WEIGHT_SAMPLES = 2000
UNCERTAINTY_SAMPLES = 500
STABLE_SHARE = 0.8
"""A decision is called stable when the winner stays first in at least 80% of draws."""
WEIGHT_POINTS = 101
"""Coarse grid over a weight's range before bisection."""
FACTOR_POINTS = 60
"""Coarse geometric grid over the cost or time factor before bisection."""
MAX_FACTOR = 10.0
"""Largest cost or time factor tried for a flip."""
BISECT_STEPS = 14
"""Halvings after the coarse grid (resolution ~ grid step / 16000)."""


@dataclass(frozen=True)
class Share:
    design: str
    share: float


@dataclass(frozen=True)
class Stability:
    """Share of random draws in which each design ranks first."""

    samples: int
    method: str  # how the draws were made, in words
    winner_share: float
    shares: list[Share]  # designs that ranked first in any draw, most often first
    stable: bool
    inputs: dict[str, float] = field(default_factory=dict)  # e.g. bands used


@dataclass(frozen=True)
class WeightFlip:
    principle: str
    weight_now: float
    weight_needed: float  # normalised weight at which the runner-up overtakes the winner

    @property
    def change(self) -> float:
        return self.weight_needed - self.weight_now


@dataclass(frozen=True)
class FlipAnalysis:
    """What would have to change for the runner-up to overtake the winner."""

    winner: str
    runner_up: str | None
    equivalent_designs: list[str]  # same principle scores as the winner (ties by name)
    weight_flips: list[WeightFlip]  # one per principle where a weight change flips
    smallest_weight_flip: WeightFlip | None
    winner_cost_rise_fraction: float | None  # winner's costs x (1 + this) -> runner-up wins
    winner_time_rise_fraction: float | None  # winner's times x (1 + this) -> runner-up wins
    sentences: list[str]


@dataclass(frozen=True)
class Sensitivity:
    seed: int
    weights: Stability
    uncertainty: Stability | None
    flip: FlipAnalysis  # against the runner-up (the best design not equivalent to the winner)
    summary: str
    platform_flip: FlipAnalysis | None = None  # against the best design on another
    # accelerator or deployment, when that is not the runner-up


def _winners(scores: np.ndarray, kr: np.ndarray) -> np.ndarray:
    """Index of the first-ranked candidate per row (ties: smallest key), ``m x n`` in."""
    s = np.round(scores, SCORE_DECIMALS)
    best = s.max(axis=1, keepdims=True)
    return np.where(s == best, kr[None, :], np.iinfo(np.int64).max).argmin(axis=1)


def _overtakes(scores: np.ndarray, runner: int, winner: int) -> np.ndarray:
    """Per row of ``m x n`` scores: the runner-up scores strictly above the winner (at
    :data:`SCORE_DECIMALS` decimals; a tie broken by name is not an overtaking)."""
    s = np.round(scores, SCORE_DECIMALS)
    return s[:, runner] > s[:, winner]


def _shares(winners: np.ndarray, keys: Sequence[str], winner: int) -> tuple[float, list[Share]]:
    idx, counts = np.unique(winners, return_counts=True)
    total = max(len(winners), 1)
    order = np.lexsort((np.array([keys[i] for i in idx], dtype=object).astype(str), -counts))
    shares = [Share(keys[int(idx[k])], float(counts[k] / total)) for k in order]
    share = float(counts[idx == winner].sum() / total)
    return share, shares


def weight_stability(
    p_matrix: np.ndarray,
    weights: np.ndarray,
    method: str,
    keys: Sequence[str],
    rng: np.random.Generator,
    *,
    samples: int = WEIGHT_SAMPLES,
    spread: float = WEIGHT_SPREAD,
) -> Stability:
    kr = key_ranks(keys)
    base = _winners(score_matrix(p_matrix, weights, method)[None, :], kr)[0]
    factors = np.exp(rng.uniform(-np.log(spread), np.log(spread), (samples, len(weights))))
    w = weights[None, :] * factors
    winners = _winners(score_matrix(p_matrix, w, method), kr)
    share, shares = _shares(winners, keys, int(base))
    return Stability(
        samples=samples,
        method=(
            f"each principle weight x a log-uniform factor in [1/{spread:g}, {spread:g}], "
            "renormalised"
        ),
        winner_share=share,
        shares=shares[:10],
        stable=share >= STABLE_SHARE,
        inputs={"spread": spread},
    )


def _normalise_rows(values: np.ndarray, name: str) -> np.ndarray:
    """Min-max per row (``S x n``) on the metric's scale, direction-aware; NaN -> 0,
    constant rows -> 1 (as :func:`aidc.decide.rank.normalise`, row by row)."""
    spec = METRICS[name]
    v = np.asarray(values, dtype=float)
    if spec.scale == "identity":
        return np.where(np.isfinite(v), np.clip(v, 0.0, 1.0), 0.0)
    if spec.scale == "log":
        finite = np.isfinite(v)
        positive = np.all(np.where(finite, v > 0, True), axis=-1, keepdims=True)
        with np.errstate(divide="ignore", invalid="ignore"):
            logged = np.log(np.where(finite & (v > 0), v, 1.0))
        v = np.where(positive & finite, logged, np.where(finite, v, np.nan))
    v = v if spec.direction == "max" else -v
    finite = np.isfinite(v)
    lo = np.where(finite, v, np.inf).min(axis=1, keepdims=True)
    hi = np.where(finite, v, -np.inf).max(axis=1, keepdims=True)
    span = hi - lo
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(span > 0, (v - lo) / np.where(span > 0, span, 1.0), 1.0)
    return np.where(finite, np.clip(out, 0.0, 1.0), 0.0)


def principle_matrix_rows(
    columns: Mapping[str, np.ndarray], metric_names: Sequence[str]
) -> np.ndarray:
    """Principle scores for stacked draws: columns are ``S x n``; returns ``S x n x P``."""
    first = np.asarray(columns[metric_names[0]])
    out = np.ones((*first.shape, len(PRINCIPLES)))
    for j, p in enumerate(PRINCIPLES):
        mine = [m for m in metric_names if METRICS[m].principle == p]
        if mine:
            out[..., j] = np.mean(
                [_normalise_rows(np.asarray(columns[m], float), m) for m in mine],
                axis=0,
            )
    return out


def _scores_rows(p3: np.ndarray, weights: np.ndarray, method: str) -> np.ndarray:
    """Aggregate scores for stacked draws ``S x n x P`` with one weight vector -> ``S x n``."""
    w = weights / weights.sum()
    if method in ("weighted-sum", "ahp"):
        return p3 @ w
    gap_best = (p3.max(axis=1, keepdims=True) - p3) ** 2
    gap_worst = (p3 - p3.min(axis=1, keepdims=True)) ** 2
    d_plus = np.sqrt(gap_best @ (w**2))
    d_minus = np.sqrt(gap_worst @ (w**2))
    denom = d_plus + d_minus
    return np.where(denom > 0, d_minus / np.where(denom > 0, denom, 1.0), 1.0)


def perturbed_columns(
    columns: Mapping[str, np.ndarray],
    metric_names: Sequence[str],
    perf_factor: np.ndarray,
    cost_factor: np.ndarray,
) -> dict[str, np.ndarray]:
    """Metric columns scaled by ``S x n`` factors according to each metric's exposure."""
    out = {}
    for m in metric_names:
        v = np.asarray(columns[m], float)[None, :]
        exp = METRICS[m].exposure
        if exp == "time":
            out[m] = v * perf_factor
        elif exp == "rate":
            out[m] = v / perf_factor
        elif exp == "cost":
            out[m] = v * cost_factor
        else:
            out[m] = np.broadcast_to(v, perf_factor.shape)
    return out


def uncertainty_stability(
    columns: Mapping[str, np.ndarray],
    metric_names: Sequence[str],
    weights: np.ndarray,
    method: str,
    keys: Sequence[str],
    rng: np.random.Generator,
    *,
    perf_group: np.ndarray,
    perf_band: np.ndarray,
    price_group: np.ndarray,
    price_low: np.ndarray,
    price_high: np.ndarray,
    samples: int = UNCERTAINTY_SAMPLES,
    inputs: Mapping[str, float] | None = None,
) -> Stability:
    """Rank stability under the models' error bands and the price ranges.

    ``perf_group``/``price_group`` (ints per candidate) say which candidates share a
    random factor; ``perf_band`` is the relative 1-sigma model error per candidate and
    ``price_low``/``price_high`` the price range relative to the price used.
    """
    n = len(keys)
    kr = key_ranks(keys)
    base_p = principle_matrix_rows(
        {m: np.asarray(columns[m])[None, :] for m in metric_names}, metric_names
    )
    base = _winners(_scores_rows(base_p, weights, method), kr)[0]
    _, pg = np.unique(perf_group, return_inverse=True)
    _, cg = np.unique(price_group, return_inverse=True)
    z = rng.standard_normal((samples, int(pg.max()) + 1 if n else 0))
    u = rng.random((samples, int(cg.max()) + 1 if n else 0))
    perf = np.exp(z[:, pg] * np.log1p(perf_band)[None, :])
    price = price_low[None, :] + u[:, cg] * (price_high - price_low)[None, :]
    cols = perturbed_columns(columns, metric_names, perf, perf * price)
    winners = _winners(_scores_rows(principle_matrix_rows(cols, metric_names), weights, method), kr)
    share, shares = _shares(winners, keys, int(base))
    return Stability(
        samples=samples,
        method=(
            "performance error exp(N(0, ln(1+band))) and price U(low, high), one draw per "
            "accelerator, applied to time, rate and cost metrics; re-normalised and re-ranked"
        ),
        winner_share=share,
        shares=shares[:10],
        stable=share >= STABLE_SHARE,
        inputs=dict(inputs or {}),
    )


def _equivalents(p_matrix: np.ndarray, order: np.ndarray) -> list[int]:
    """Designs whose principle scores equal the winner's (to 1e-9), in rank order."""
    rest = np.asarray(order[1:], dtype=np.int64)
    same = np.all(np.abs(p_matrix[rest] - p_matrix[order[0]]) <= 1e-9, axis=1)
    return rest[same].tolist()


def _first_hit(
    hits: Callable[[np.ndarray], np.ndarray], start: float, stop: float, points: int
) -> float | None:
    """The value nearest ``start`` on the way to ``stop`` where ``hits`` turns true.

    A coarse grid of ``points`` finds the first hit; bisection between it and the last
    miss refines it to :data:`BISECT_STEPS` halvings. ``hits`` maps an array of values
    to booleans (vectorised).
    """
    grid = np.linspace(start, stop, points)
    found = np.flatnonzero(hits(grid))
    if not len(found):
        return None
    j = int(found[0])
    if j == 0:
        return float(grid[0])
    miss, hit = float(grid[j - 1]), float(grid[j])
    for _ in range(BISECT_STEPS):
        mid = 0.5 * (miss + hit)
        if hits(np.array([mid]))[0]:
            hit = mid
        else:
            miss = mid
    return hit


def _factor_to_flip(
    columns: Mapping[str, np.ndarray],
    metric_names: Sequence[str],
    weights: np.ndarray,
    method: str,
    targets: list[int],
    runner: int,
    winner: int,
    exposures: tuple[str, ...],
) -> float | None:
    """Smallest rise (factor - 1, up to :data:`MAX_FACTOR`) of the metrics of the given
    exposures (times and costs multiplied, rates divided) of ``targets`` — the winner's
    group and the designs equivalent to it — that makes ``runner`` overtake ``winner``."""
    base = {m: np.asarray(columns[m], float) for m in metric_names}

    def hits(factors: np.ndarray) -> np.ndarray:
        cols = {}
        for m in metric_names:
            v = np.tile(base[m], (len(factors), 1))
            exp = METRICS[m].exposure
            if exp in exposures:
                f = factors[:, None] if exp != "rate" else 1.0 / factors[:, None]
                v[:, targets] = v[:, targets] * f
            cols[m] = v
        scores = _scores_rows(principle_matrix_rows(cols, metric_names), weights, method)
        return _overtakes(scores, runner, winner)

    # geometric in the factor: resolution is relative
    hit = _first_hit(lambda x: hits(np.exp(x)), 0.0, float(np.log(MAX_FACTOR)), FACTOR_POINTS)
    return float(np.exp(hit) - 1.0) if hit is not None else None


def _weight_to_flip(
    p_matrix: np.ndarray, w: np.ndarray, k: int, method: str, runner: int, winner: int
) -> float | None:
    """Weight of principle k (the others in proportion) nearest its current value at
    which ``runner`` overtakes ``winner``; None if no weight in [0, 1] does."""
    others = np.delete(w, k)
    if others.sum() <= 0:
        return None
    rest = others / others.sum()

    def hits(t: np.ndarray) -> np.ndarray:
        wk = np.empty((len(t), len(w)))
        wk[:, k] = t
        wk[:, np.arange(len(w)) != k] = (1 - t)[:, None] * rest[None, :]
        out = np.zeros(len(t), dtype=bool)
        valid = wk.sum(axis=1) > 0
        out[valid] = _overtakes(score_matrix(p_matrix, wk[valid], method), runner, winner)
        return out

    found = [
        t
        for t in (
            _first_hit(hits, float(w[k]), 1.0, WEIGHT_POINTS),
            _first_hit(hits, float(w[k]), 0.0, WEIGHT_POINTS),
        )
        if t is not None
    ]
    return min(found, key=lambda t: abs(t - w[k])) if found else None


def flip_analysis(
    columns: Mapping[str, np.ndarray],
    metric_names: Sequence[str],
    p_matrix: np.ndarray,
    weights: np.ndarray,
    method: str,
    keys: Sequence[str],
    order: np.ndarray,
    labels: Sequence[str] | None = None,
    perf_group: np.ndarray | None = None,
    price_group: np.ndarray | None = None,
    rival: int | None = None,
    pareto: np.ndarray | None = None,
) -> FlipAnalysis:
    """What would make the runner-up win: the best-ranked design that is not equivalent
    to the winner (same principle scores), taken from the Pareto front when ``pareto`` is
    given; or ``rival`` when named."""
    winner = int(order[0])
    eq = _equivalents(p_matrix, order)
    eq_set = set(eq)
    rest = [int(i) for i in order[1:] if int(i) not in eq_set]
    if pareto is not None:
        # a dominated design cannot overtake by a change of weights: prefer the best one
        # on the Pareto front, the real contender
        rest = [i for i in rest if pareto[i]] + [i for i in rest if not pareto[i]]
    if rival is not None:
        rest = [rival] if rival in rest else []
    w = weights / weights.sum()
    if not rest:
        return FlipAnalysis(
            winner=keys[winner],
            runner_up=None,
            equivalent_designs=[keys[i] for i in eq],
            weight_flips=[],
            smallest_weight_flip=None,
            winner_cost_rise_fraction=None,
            winner_time_rise_fraction=None,
            sentences=["no other design scores differently: nothing to flip"],
        )
    runner = rest[0]
    flips: list[WeightFlip] = []
    for k, p in enumerate(PRINCIPLES):
        t = _weight_to_flip(p_matrix, w, k, method, runner, winner)
        if t is not None:
            flips.append(WeightFlip(p, float(w[k]), t))
    smallest = min(flips, key=lambda f: abs(f.change)) if flips else None

    # an error in a device's performance model, or in its price, moves every design on
    # that device together: scale the winner's whole group (and its equivalents)
    def group_of(groups: np.ndarray | None) -> list[int]:
        if groups is None:
            return [winner, *eq]
        members = set(np.flatnonzero(groups == groups[winner]).tolist()) | set(eq)
        return [] if runner in members else sorted(members)

    exposures = {METRICS[m].exposure for m in metric_names}
    cost_targets = group_of(price_group) if "cost" in exposures else []
    time_targets = group_of(perf_group) if exposures & {"time", "rate"} else []
    cost = time = None
    if cost_targets:
        cost = _factor_to_flip(
            columns, metric_names, weights, method, cost_targets, runner, winner, ("cost",)
        )
    if time_targets:
        time = _factor_to_flip(
            columns,
            metric_names,
            weights,
            method,
            time_targets,
            runner,
            winner,
            ("time", "rate"),
        )
    name = labels[runner] if labels else keys[runner]
    ways = []
    if smallest is not None:
        nd = 2 if abs(smallest.change) >= 0.01 else 4  # enough digits to show the change
        ways.append(
            f"{smallest.principle.replace('_', '-')} weighed {smallest.weight_needed:.{nd}f} "
            f"instead of {smallest.weight_now:.{nd}f} (the other weights in proportion)"
        )
    if cost is not None:
        ways.append(f"the winner's costs were {cost:.0%} higher")
    if time is not None:
        ways.append(f"the winner's predicted times were {time:.0%} longer")
    sentences_note = ""
    if not time_targets and exposures & {"time", "rate"}:
        sentences_note = "it runs on the same accelerator, so a model error moves both alike"
    if ways:
        sentences = [f"{name} would overtake the winner if " + ", or if ".join(ways)]
    else:
        tried = ["no single weight change"]
        if cost_targets:
            tried.append("no rise of the winner's costs")
        if time_targets:
            tried.append("no rise of its predicted times")
        sentences = [
            ", ".join(tried)
            + f" up to {MAX_FACTOR:g}x" * (len(tried) > 1)
            + f" makes {name} overtake the winner"
        ]
    if sentences_note:
        sentences.append(sentences_note)
    return FlipAnalysis(
        winner=keys[winner],
        runner_up=keys[runner],
        equivalent_designs=[keys[i] for i in eq],
        weight_flips=flips,
        smallest_weight_flip=smallest,
        winner_cost_rise_fraction=cost,
        winner_time_rise_fraction=time,
        sentences=sentences,
    )


def summarise(
    weights: Stability,
    uncertainty: Stability | None,
    flip: FlipAnalysis,
    labels: Mapping[str, str] | None = None,
    platform: FlipAnalysis | None = None,
    subject: str = "the first-ranked design",
) -> str:
    """One paragraph: stable or not, the shares, the strongest rival, the flip."""
    parts = [f"{subject} stays first in {weights.winner_share:.0%} of weight perturbations"]
    if uncertainty is not None:
        parts.append(f"{uncertainty.winner_share:.0%} of model-error and price draws")
    rivals = [
        s
        for st in (weights, uncertainty)
        if st is not None
        for s in st.shares
        if s.design != flip.winner
    ]
    rival = max(rivals, key=lambda s: s.share, default=None)
    rival_text = ""
    if rival is not None and rival.share > 0:
        rival_name = (labels or {}).get(rival.design, rival.design)
        pct = f"{rival.share:.0%}" if rival.share >= 0.01 else "<1%"
        rival_text = f"; the most frequent other winner is {rival_name} ({pct})"
    verdict = (
        "stable"
        if weights.stable and (uncertainty is None or uncertainty.stable)
        else "sensitive to the inputs"
    )
    flips = "; ".join(flip.sentences + (platform.sentences if platform else []))
    return f"{verdict}: " + " and ".join(parts) + rival_text + "; " + flips
