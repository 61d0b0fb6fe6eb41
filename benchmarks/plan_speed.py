"""How long `aidc plan` takes on the built-in default scenario (target: < 5 s).

Measures (1) the whole command in a fresh process, as a user runs it, and (2) the pure
planning step in-process. Prints median and max over repeats and the ratio to the target.

    python benchmarks/plan_speed.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

TARGET_S = 5.0


def time_cli(repeats: int) -> list[float]:
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "aidc", "plan", "--quiet"], check=True)
        out.append(time.perf_counter() - t0)
    return out


def time_core(repeats: int) -> list[float]:
    from aidc.catalog import load_catalog
    from aidc.catalog.calibration import load_default_calibration
    from aidc.catalog.resolve import resolve_scenario_models
    from aidc.planner.context import PlanContext, facility_params
    from aidc.planner.pipeline import plan
    from aidc.spec import load_default_scenario

    cat = load_catalog()
    sc = load_default_scenario()
    ctx = PlanContext(
        cat,
        load_default_calibration(),
        resolve_scenario_models(sc, cat),
        facility_params(cat, sc.prices),
    )
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        plan(sc, ctx)
        out.append(time.perf_counter() - t0)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    for label, times in (
        ("aidc plan (new process)", time_cli(args.repeats)),
        ("plan() in-process", time_core(args.repeats)),
    ):
        med = statistics.median(times)
        print(
            f"{label:26s} median {med:6.2f} s  max {max(times):6.2f} s  = {med / TARGET_S:.2f} x the {TARGET_S:.0f} s target"
        )


if __name__ == "__main__":
    main()
