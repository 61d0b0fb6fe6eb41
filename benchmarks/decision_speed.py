"""How fast is the search and the decision? Evaluations per second and search time.

Reports, on this machine:

1. per-workload planners on the default scenario (steps 2-3: enumerate and evaluate
   with the vectorised models): candidate configurations evaluated per second;
2. data-center compositions evaluated per second (sums, pooling and constraint checks
   over one design per workload), on a synthetic space of ~1 M compositions;
3. the decision core: Pareto front of 10^5 candidates x 6 objectives, and ranking
   (normalise, principles, TOPSIS) of 10^5 candidates;
4. the default scenario's full search (`plan()` in-process, and `aidc plan` as a user
   runs it), against the 5 s target.

Targets: >= 1e6 candidate evaluations per second on the analytical path; the default
scenario's full search < 5 s. Ratios to the targets are printed, nothing is asserted.

    python benchmarks/decision_speed.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

import numpy as np

EVALS_TARGET_PER_S = 1e6
SEARCH_TARGET_S = 5.0


def best_of(fn, repeats: int) -> tuple[float, object]:
    """Median wall time of ``repeats`` calls (after one warm-up) and the last result."""
    out = fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def context():
    from aidc.catalog import load_catalog
    from aidc.catalog.calibration import load_default_calibration
    from aidc.catalog.resolve import resolve_scenario_models
    from aidc.planner.context import PlanContext, facility_params
    from aidc.spec import load_default_scenario

    cat = load_catalog()
    sc = load_default_scenario()
    ctx = PlanContext(
        cat,
        load_default_calibration(),
        resolve_scenario_models(sc, cat),
        facility_params(cat, sc.prices),
    )
    return sc, ctx


def planners(sc, ctx, repeats: int) -> None:
    from aidc.planner.inference import plan_inference
    from aidc.planner.training import plan_training

    rows = [(w.name, lambda w=w: plan_training(w, sc, ctx)) for w in sc.workloads.training]
    rows += [(s.name, lambda s=s: plan_inference(s, sc, ctx)) for s in sc.workloads.inference]
    for name, fn in rows:
        t, wd = best_of(fn, repeats)
        rate = wd.n_evaluated / t
        print(
            f"  planner {name:20s} {wd.n_evaluated:9,d} candidates in {t * 1e3:7.1f} ms = "
            f"{rate:12,.0f} /s ({rate / EVALS_TARGET_PER_S:.2f} x target)"
        )


def compositions(repeats: int) -> None:
    from aidc.decide.datacenter import Limits, WorkloadOptions, check, evaluate
    from aidc.search.datacenter_space import enumerate_compositions

    rng = np.random.default_rng(0)
    accs = ["H100-SXM", "MI300X", "Gaudi3", "A100-SXM-80GB"]

    def options(name: str, k: int) -> WorkloadOptions:
        return WorkloadOptions(
            workload=name,
            design_ids=[f"{name}-{i}" for i in range(k)],
            labels=[f"{name}-{i}" for i in range(k)],
            accelerator=[accs[i % 4] for i in range(k)],
            deployment=["on-prem" if i % 3 else "cloud" for i in range(k)],
            software=["vllm" if i % 2 else "pytorch" for i in range(k)],
            n_devices=rng.integers(1, 512, k).astype(float),
            spare_devices=rng.integers(0, 3, k).astype(float),
            facility_power_w=rng.uniform(1e3, 1e6, k),
            capex_usd=rng.uniform(1e4, 1e7, k),
            tco_3y_usd=rng.uniform(1e4, 2e7, k),
            principle_scores=rng.random((k, 5)),
            security_score=np.ones(k),
            isolation=np.zeros(k, dtype=bool),
        )

    opts = [options("train", 100), options("qa", 100), options("chat", 100)]
    idx = enumerate_compositions([100, 100, 100])
    limits = Limits(5e6, 40e3, 200, 5e7, None, None, False, 1.3)

    def run() -> int:
        n = 0
        for mode in ("dedicated", "shared"):
            ev = evaluate(opts, idx, mode, limits)
            check(ev, opts, limits)
            n += len(idx)
        return n

    t, n = best_of(run, repeats)
    rate = n / t
    print(
        f"  data-center compositions    {n:9,d} evaluated+checked in {t * 1e3:7.1f} ms = "
        f"{rate:12,.0f} /s ({rate / EVALS_TARGET_PER_S:.2f} x target)"
    )


def decision_core(repeats: int) -> None:
    from aidc.decide.metrics import RANKING_METRICS
    from aidc.decide.pareto import pareto_mask_points
    from aidc.decide.rank import (
        order_best_first,
        principle_matrix,
        principle_scores,
        score_matrix,
        weight_vector,
    )

    rng = np.random.default_rng(1)
    n = 100_000
    # independent uniform objectives: the front grows quickly with the dimension (at
    # 11 objectives a third of the points are on it), the hardest case for the filter
    for k in (4, 6, 11):
        pts = rng.random((n, k))
        t, mask = best_of(lambda pts=pts: pareto_mask_points(pts), max(1, repeats // 2))
        print(
            f"  Pareto front {n:,d} x {k:2d}        front {int(mask.sum()):6,d} in "
            f"{t * 1e3:7.1f} ms = {n / t:12,.0f} /s"
        )
    names = RANKING_METRICS["training"]
    cols = {m: rng.lognormal(0, 1, n) for m in names}
    keys = np.arange(n)
    w = weight_vector(
        {
            "performance": 1,
            "scalability": 1,
            "cost_effectiveness": 1,
            "security": 1,
            "maintainability": 1,
        }
    )

    def rank() -> np.ndarray:
        p = principle_matrix(principle_scores(cols, names))
        return order_best_first(score_matrix(p, w, "topsis"), keys)

    t, _ = best_of(rank, repeats)
    print(
        f"  rank (normalise, principles, TOPSIS, order) {n:,d} x {len(names)} in "
        f"{t * 1e3:7.1f} ms = {n / t:12,.0f} /s"
    )


def search(sc, ctx, repeats: int) -> None:
    from aidc.planner.pipeline import plan

    t, res = best_of(lambda: plan(sc, ctx), repeats)
    n = sum(w.n_evaluated for w in res.workloads)
    dc = res.decision.n_evaluated if res.decision else 0
    print(
        f"  plan() in-process           {t:7.2f} s for {n:,d} candidates and {dc:,d} compositions"
        f" = {t / SEARCH_TARGET_S:.2f} x the {SEARCH_TARGET_S:.0f} s target"
    )
    cli = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "aidc", "plan", "--quiet"], check=True)
        cli.append(time.perf_counter() - t0)
    med = statistics.median(cli)
    print(
        f"  aidc plan (new process)     {med:7.2f} s median, {max(cli):.2f} s max"
        f" = {med / SEARCH_TARGET_S:.2f} x the {SEARCH_TARGET_S:.0f} s target"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    sc, ctx = context()
    print("Evaluations per second (median of repeats):")
    planners(sc, ctx, args.repeats)
    compositions(args.repeats)
    decision_core(args.repeats)
    print("Default scenario, full search:")
    search(sc, ctx, args.repeats)


if __name__ == "__main__":
    main()
