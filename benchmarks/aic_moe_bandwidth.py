"""Routed-expert (MoE) kernels vs dense GEMMs: weight-streaming bandwidth on H100, FP8.

Evidence for the prior of ``expert_efficiency`` (aidc.validation.inference_fit.PRIORS).
Reads aiconfigurator-core's measured TensorRT-LLM kernel tables (its package data; run
with an interpreter that has ``aiconfigurator_core`` and pandas installed)::

    /tmp/aic-venv/bin/python benchmarks/aic_moe_bandwidth.py

MoE rows: ``moe_torch_flow_cutlass``, FP8, balanced routing, moe_tp 1, every local expert
touched (``tokens * topk >= 2 * experts``) and 1-8 rows per expert (memory-bound decode);
bytes = local experts x 3 h f (gated up + down, 1 byte per FP8 weight). Dense rows: FP8
GEMMs with ``m`` equal to the rows per expert; bytes = n k. Printed: median achieved
bandwidth (TB/s) of each, and their ratio, by weight bytes per call.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd  # type: ignore[import-untyped]


def main() -> int:
    import aiconfigurator_core  # type: ignore[import-not-found]

    root = Path(aiconfigurator_core.__file__).parent / "systems/data/h100_sxm"
    moe = pd.read_parquet(root / "moe/trtllm/1.3.0rc10/moe_perf.parquet")
    gemm = pd.read_parquet(root / "gemm/trtllm/1.3.0rc20/gemm_perf.parquet")
    x = moe[
        (moe.moe_dtype == "fp8")
        & (moe.distribution == "balanced")
        & (moe.moe_tp_size == 1)
        & (moe.kernel_source == "moe_torch_flow_cutlass")
    ].copy()
    experts, topk, tokens = x.num_experts, x.topk, x.num_tokens
    x["rows"] = tokens * topk / experts
    x = x[(tokens * topk >= 2 * experts) & (x.rows <= 8)]
    x["mb"] = experts / x.moe_ep_size * 3 * x.hidden_size * x.inter_size / 1e6
    x["tb_s"] = x.mb * 1e6 / (x.latency * 1e-3) / 1e12
    g = gemm[gemm.gemm_dtype == "fp8"].copy()
    g["mb"] = g.n * g.k / 1e6
    g["tb_s"] = g.mb * 1e6 / (g.latency * 1e-3) / 1e12
    print("weight MB/call   rows<=  dense TB/s  MoE TB/s  n_moe  MoE/dense")
    for lo, hi in [(50, 100), (100, 200), (200, 500), (500, 2000), (2000, 20000)]:
        for r in (2, 4, 8):
            d = g[(g.m == r) & (g.mb > lo) & (g.mb <= hi)].tb_s.median()
            e = x[(x.mb > lo) & (x.mb <= hi) & (x.rows > r / 2) & (x.rows <= r)].tb_s
            if len(e):
                print(
                    f"{lo:>6}-{hi:<6}  {r:>6}  {d:>10.2f}  {e.median():>8.2f}  {len(e):>5}"
                    f"  {e.median() / d:>9.2f}"
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
