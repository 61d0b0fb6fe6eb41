"""Derive aidc's kernel-efficiency data file from measured and published kernel timings.

Writes ``src/aidc/catalog/data/kernel_efficiency.yaml``: for each accelerator with data,
the parameters of

    GEMM:       eff(m, n, k) = e_max * m/(m + m_half) * n/(n + n_half) * k/(k + k_half)
                t = max(2 m n k / (peak * eff), bytes / hbm_bw) + overhead
    attention:  eff(s) = e_max * s / (s + s_half)   (causal, head dim 128, forward)
                backward efficiency = forward efficiency * backward_relative

fitted by least squares on log time. Inputs (data, not code, are reused):

* GEMM and context-attention latencies measured by NVIDIA and shipped in the PyPI package
  ``aiconfigurator-core`` 0.12.0 (Apache-2.0) under
  ``aiconfigurator_core/systems/data/<system>/{gemm,attention}/<framework>/<version>/``;
* FlashAttention-2 forward/backward throughput on H100 SXM5 (head dim 128) as published in
  Shah et al. 2024, "FlashAttention-3" (arXiv 2407.08608), Figures 5-6: training
  frameworks of 2023-2024 ran FlashAttention-2 on Hopper, while aiconfigurator's Hopper
  attention data is FlashAttention-3 (inference).

Run it in a throw-away environment (pandas, pyarrow and scipy are not aidc dependencies):

    python3 -m venv /tmp/aic-venv
    /tmp/aic-venv/bin/pip install pandas pyarrow scipy aiconfigurator-core==0.12.0 -e .
    /tmp/aic-venv/bin/python benchmarks/derive_kernel_efficiency.py [--aic-dir DIR] [--write]

Without ``--write`` it prints the fits and their residuals.
"""

from __future__ import annotations

import argparse
import glob
import os
from pathlib import Path

import numpy as np
import yaml

from aidc.catalog import Precision, load_catalog

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "src" / "aidc" / "catalog" / "data" / "kernel_efficiency.yaml"

# GPU architecture of each record: the training model calibrates one sustained-compute
# factor per architecture (clocks under sustained load differ from kernel benchmarks).
ARCHITECTURE = {
    "A100": "Ampere",
    "H100": "Hopper",
    "H200": "Hopper",
    "B200": "Blackwell",
    "GB200": "Blackwell",
    "B300": "Blackwell Ultra",
    "GB300": "Blackwell Ultra",
    "L40S": "Ada Lovelace",
}
# aiconfigurator system directory -> (record id, catalog accelerators it applies to)
SYSTEMS = {
    "a100_sxm": ("A100", ["A100-SXM-80GB", "A100-SXM-40GB", "A100-PCIe-80GB", "A100-PCIe-40GB"]),
    "h100_sxm": ("H100", ["H100-SXM", "H100-PCIe", "H100-NVL", "H100-SXM-96GB-500W"]),
    "h200_sxm": ("H200", ["H200-SXM", "H200-NVL"]),
    "b200_sxm": ("B200", ["B200"]),
    "gb200": ("GB200", ["GB200"]),
    "b300_sxm": ("B300", ["B300"]),
    "gb300": ("GB300", ["GB300"]),
    "l40s": ("L40S", ["L40S"]),
}
REFERENCE_ACCEL = {  # the accelerator whose catalog peak the measured device had
    "a100_sxm": "A100-SXM-80GB",
    "h100_sxm": "H100-SXM",
    "h200_sxm": "H200-SXM",
    "b200_sxm": "B200",
    "gb200": "GB200",
    "b300_sxm": "B300",
    "gb300": "GB300",
    "l40s": "L40S",
}
DTYPES = {"bf16": "bfloat16", "fp8": "fp8", "fp4": "nvfp4"}
# bytes per element a GEMM streams (NVFP4: 4-bit values plus one fp8 scale per 16)
BYTES_PER_ELEMENT = {"bf16": 2.0, "fp8": 1.0, "fp4": 0.5 + 1.0 / 16.0}
MIN_DIM = 256  # training GEMMs: fit the regime of at least 256 rows/cols
# weight streaming: GEMMs of at most STREAM_MAX_M rows reading at least STREAM_MIN_WEIGHT_BYTES
# of weights are decode's weight-streaming kernels (time ~ weight bytes / bandwidth)
STREAM_MAX_M = 64
STREAM_MIN_WEIGHT_BYTES = 0.2e9

# Shah et al. 2024 (FlashAttention-3, arXiv 2407.08608) Fig. 5-6, H100 80GB SXM5, head
# dim 128, FlashAttention-2 bars, TFLOP/s by sequence length (batch x seq = 16k tokens).
FA3_PAPER_FA2_H100 = {
    "seq": [512, 1024, 2048, 4096, 8192, 16384],
    "forward_causal": [191, 260, 298, 319, 333, 335],
    "forward_noncausal": [309, 350, 362, 368, 370, 370],
    "backward_noncausal": [214, 260, 291, 310, 318, 322],
}
FA3_SOURCE = (
    "Shah et al. 2024, FlashAttention-3 (arXiv 2407.08608) Fig. 5-6: FlashAttention-2 on "
    "H100 80GB SXM5, head dim 128 (forward causal 191-335, backward 214-322 TFLOP/s)"
)


def fit_gemm(df, peak, bw, bpe):
    from scipy.optimize import least_squares

    m, n, k = (df[c].to_numpy(float) for c in "mnk")
    t = df.latency.to_numpy(float) * 1e-3  # aiconfigurator latencies are in ms

    def model(p):
        emax, lm, ln, lk, ov = p
        eff = emax * m / (m + np.exp(lm)) * n / (n + np.exp(ln)) * k / (k + np.exp(lk))
        return (
            np.maximum(2 * m * n * k / (peak * eff), bpe * (m * k + k * n + m * n) / bw) + ov * 1e-6
        )

    def res(p):
        return np.log(model(p)) - np.log(t)

    r = least_squares(
        res,
        [0.8, np.log(64), np.log(64), np.log(64), 5.0],
        bounds=([0.05, 0, 0, 0, 0], [1.2, 12, 12, 12, 100]),
    )
    e = np.abs(res(r.x))
    big = (m >= 2048) & (n >= 1024) & (k >= 1024)
    emax, lm, ln, lk, ov = r.x
    return {
        "max_efficiency": round(float(emax), 4),
        "m_half": round(float(np.exp(lm)), 1),
        "n_half": round(float(np.exp(ln)), 1),
        "k_half": round(float(np.exp(lk)), 1),
        "overhead_us": round(float(ov), 2),
        "fit_points": len(t),
        "median_abs_log_error": round(float(np.median(e)), 4),
        "p90_abs_log_error_large": round(float(np.quantile(e[big], 0.9)), 4) if big.any() else None,
    }


def streaming_share(df, bw, bpe):
    """Median over weight-streaming GEMMs of ``n k bpe / t / hbm_bw``: the share of the
    device's peak HBM bandwidth a decode-shaped GEMM (few rows, large weights) reaches.
    ``df`` holds one median latency (ms) per (m, n, k)."""
    wb = df.n.to_numpy(float) * df.k.to_numpy(float) * bpe
    sel = (df.m.to_numpy(float) <= STREAM_MAX_M) & (wb >= STREAM_MIN_WEIGHT_BYTES)
    if not sel.any():
        return None
    share = wb[sel] / (df.latency.to_numpy(float)[sel] * 1e-3) / bw
    return {
        "share": round(float(np.median(share)), 4),
        "p10": round(float(np.quantile(share, 0.1)), 4),
        "p90": round(float(np.quantile(share, 0.9)), 4),
        "points": int(sel.sum()),
    }


def fit_attention(seq, eff):
    from scipy.optimize import least_squares

    seq, eff = np.asarray(seq, float), np.asarray(eff, float)

    def res(p):
        return np.log(p[0] * seq / (seq + np.exp(p[1]))) - np.log(eff)

    r = least_squares(res, [0.6, np.log(512)], bounds=([0.05, 0], [1.2, 14]))
    e = np.abs(res(r.x))
    return round(float(r.x[0]), 4), round(float(np.exp(r.x[1])), 1), round(float(np.median(e)), 4)


def attention_points(aic: Path, system: str, peak: float):
    """Causal forward efficiency by sequence length from flash-attention kernels."""
    import pandas as pd

    frames = []
    for fw in ("vllm", "sglang"):
        for p in sorted(
            glob.glob(str(aic / system / "attention" / fw / "*" / "context_attention_perf.parquet"))
        ):
            df = pd.read_parquet(p)
            df = df[(df.attn_dtype == "bfloat16") & (df.kv_cache_dtype == "bfloat16")]
            df = df[(df.head_dim == 128) & (df.batch_size * df.isl >= 8192) & (df.isl >= 256)]
            frames.append(df)
    if not frames:
        return None
    df = pd.concat(frames)
    s = df.isl.astype(float)
    flops = 4.0 * df.batch_size * df.num_heads * df.head_dim * s * (s + 1) / 2
    df = df.assign(eff=flops / (df.latency * 1e-3) / peak)
    tab = df.groupby("isl").eff.median()
    return tab.index.to_numpy(float), tab.to_numpy(float), sorted(set(df.kernel_source))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--aic-dir", default=None, help="aiconfigurator_core/systems/data directory")
    ap.add_argument("--write", action="store_true")
    args = ap.parse_args()
    if args.aic_dir:
        aic = Path(args.aic_dir)
    else:
        import aiconfigurator_core

        aic = Path(os.path.dirname(aiconfigurator_core.__file__)) / "systems" / "data"
    import pandas as pd

    cat = load_catalog()
    records = []
    fa2_h100 = FA3_PAPER_FA2_H100
    h100_peak = cat.accelerators.get("H100-SXM").peak_for(Precision.BF16) / 1e12
    fa2_fwd = np.asarray(fa2_h100["forward_causal"]) / h100_peak
    bwd_rel = float(
        np.median(
            np.asarray(fa2_h100["backward_noncausal"]) / np.asarray(fa2_h100["forward_noncausal"])
        )
    )
    for system, (rid, accels) in SYSTEMS.items():
        acc = cat.accelerators.get(REFERENCE_ACCEL[system])
        gemm = {}
        stream = {}
        files = []
        for prec, dtype in DTYPES.items():
            peak = acc.peak_for(Precision(prec))
            if peak is None:
                continue
            paths = sorted(glob.glob(str(aic / system / "gemm" / "*" / "*" / "gemm_perf.parquet")))
            dfs = [pd.read_parquet(p) for p in paths]
            df = pd.concat([d[d.gemm_dtype == dtype] for d in dfs])
            if df.empty:
                continue
            df = df.groupby(["m", "n", "k"]).latency.median().reset_index()
            stream[prec] = streaming_share(df, acc.hbm_bw_bytes_per_s, BYTES_PER_ELEMENT[prec])
            df = df[(df.m >= MIN_DIM) & (df.n >= MIN_DIM) & (df.k >= MIN_DIM)]
            gemm[prec] = fit_gemm(df, peak, acc.hbm_bw_bytes_per_s, BYTES_PER_ELEMENT[prec])
            files += [os.path.relpath(p, aic) for p in paths]
        rec = {
            "id": rid,
            "architecture": ARCHITECTURE[rid],
            "accelerators": accels,
            "measured_on": REFERENCE_ACCEL[system],
            "gemm": gemm,
        }
        if stream.get("bf16"):
            # BF16 only: 16-bit weights stream without per-block scales or dequantisation, so
            # the share is the memory system's; the lower FP8/FP4 shares carry their kernels'
            # extra work, which the serving fit's (device, engine, precision) level absorbs
            rec["streaming_bw_efficiency"] = stream["bf16"]["share"]
            print(rid, "streaming shares", stream)
        bf16_peak = acc.peak_for(Precision.BF16)
        if system in ("h100_sxm", "h200_sxm"):
            emax, shalf, err = fit_attention(fa2_h100["seq"], fa2_fwd)
            rec["attention"] = {
                "bf16": {
                    "kernel": "FlashAttention-2",
                    "max_efficiency": emax,
                    "seq_half": shalf,
                    "backward_relative": round(bwd_rel, 3),
                    "median_abs_log_error": err,
                }
            }
            att_src = FA3_SOURCE + " (H200 shares the H100's GH100 compute)"
            rec["field_provenance"] = {"attention": "published"}
        else:
            pts = attention_points(aic, system, bf16_peak)
            att_src = ""
            if pts is not None:
                seq, eff, kernels = pts
                emax, shalf, err = fit_attention(seq, eff)
                rec["attention"] = {
                    "bf16": {
                        "kernel": "/".join(kernels),
                        "max_efficiency": emax,
                        "seq_half": shalf,
                        "backward_relative": round(bwd_rel, 3),
                        "median_abs_log_error": err,
                    }
                }
                att_src = (
                    "attention: aiconfigurator context_attention (causal prefill, head dim 128)"
                )
                rec["field_provenance"] = {"attention.backward_relative": "published"}
        rec["source"] = (
            "aiconfigurator-core 0.12.0 (PyPI, Apache-2.0) measured kernel latencies: "
            + ", ".join(sorted(set(files)))
            + (f"; {att_src}" if att_src else "")
            + f"; backward_relative: {FA3_SOURCE}"
        )
        rec["provenance"] = "measured"
        rec["notes"] = (
            f"Fitted by benchmarks/derive_kernel_efficiency.py on GEMMs with m, n, k >= {MIN_DIM}; "
            "efficiency relative to the catalog's dense peak of the measured device."
            + (
                " streaming_bw_efficiency: median over the BF16 GEMMs with m <= "
                f"{STREAM_MAX_M} and >= {STREAM_MIN_WEIGHT_BYTES / 1e9:g} GB of weights "
                f"({stream['bf16']['points']} shapes, p10-p90 {stream['bf16']['p10']}-"
                f"{stream['bf16']['p90']}) of weight bytes / time / the catalog's HBM "
                "bandwidth of the measured device (decode-shaped weight streaming)."
                if stream.get("bf16")
                else ""
            )
        )
        records.append(rec)
        print(rid, yaml.safe_dump(gemm, default_flow_style=True).strip(), rec.get("attention"))

    # Devices without kernel data: the median of the measured bf16 fits (assumed).
    def med(key, sub="gemm"):
        vals = [r[sub]["bf16"][key] for r in records if "bf16" in r.get(sub, {})]
        return round(float(np.median(vals)), 4)

    records.append(
        {
            "id": "default",
            "architecture": "unknown",
            "accelerators": [],
            "gemm": {
                "bf16": {
                    k: med(k)
                    for k in ("max_efficiency", "m_half", "n_half", "k_half", "overhead_us")
                }
            },
            "attention": {
                "bf16": {
                    "kernel": "assumed",
                    **{
                        k: med(k, "attention")
                        for k in ("max_efficiency", "seq_half", "backward_relative")
                    },
                }
            },
            "source": "median of the measured records in this file (benchmarks/derive_kernel_efficiency.py)",
            "provenance": "assumed",
            "notes": "Used for accelerators without kernel data (AMD, TPU, Gaudi, older NVIDIA parts).",
        }
    )
    if args.write:
        header = (
            "# Achieved fraction of dense peak for matrix multiplies and attention, as functions of\n"
            "# shape: data derived from measured kernel timings (see each record's source).\n"
            "# Generated by benchmarks/derive_kernel_efficiency.py; do not edit by hand.\n"
        )
        OUT.write_text(
            header + yaml.safe_dump({"kernel_efficiency": records}, sort_keys=False, width=100)
        )
        print("wrote", OUT)


if __name__ == "__main__":
    main()
