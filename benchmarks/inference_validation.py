"""Leave-one-source-out validation of the serving model on data/reference/inference.csv,
side by side with NVIDIA aiconfigurator where it supports the configuration.

For each source in the reference set, the efficiencies are fitted on every *other*
source (starting from the global priors only, so nothing fitted on the held-out source
leaks in) and the held-out source is predicted through the normal calibration lookup.
Printed: coverage, median and p90 absolute percentage error overall, per measured field,
per source and per hardware, and the Done-when targets (>= 90% of scorable rows predicted;
each field median <= 15% and p90 <= 35%).

    .venv/bin/python benchmarks/inference_validation.py
    .venv/bin/python benchmarks/inference_validation.py --aic-python /tmp/aic-venv/bin/python
    .venv/bin/python benchmarks/inference_validation.py --write-calibration src/aidc/catalog/data/inference_efficiency.yaml

``--write-calibration`` fits on *all* sources and writes the shipped efficiency file.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import yaml

from aidc.catalog.calibration import load_default_calibration
from aidc.catalog.efficiency import load_kernel_efficiency
from aidc.catalog.loader import load_catalog
from aidc.model.inference import continuous_generation
from aidc.validation.inference_fit import (
    LEVEL_PARAMS,
    PRIORS,
    calibration_from_values,
    fit_calibration,
    fit_data,
    measured_streaming_bw,
    priors_calibration,
)
from aidc.validation.inference_predict import predict, prepare
from aidc.validation.inference_score import Entry, parse_rows, score_predictions, summarize

ROOT = Path(__file__).resolve().parents[1]
CSV = ROOT / "data" / "reference" / "inference.csv"
TARGET_COVERAGE, TARGET_MEDIAN, TARGET_P90 = 0.90, 0.15, 0.35

AIC_MODELS = {
    "llama-3.3-70b": "meta-llama/Meta-Llama-3.1-70B",
    "llama-3.1-405b": "meta-llama/Meta-Llama-3.1-405B",
    "llama-4-scout": "meta-llama/Llama-4-Scout-17B-16E-Instruct",
    "llama-4-maverick": "meta-llama/Llama-4-Maverick-17B-128E-Instruct",
    "qwen3-30b-a3b": "Qwen/Qwen3-30B-A3B",
    "qwen3-235b-a22b": "Qwen/Qwen3-235B-A22B",
}
AIC_SYSTEMS = {
    "H100-SXM": "h100_sxm",
    "H200-SXM": "h200_sxm",
    "B200": "b200_sxm",
    "GB200": "gb200",
    "RTX-PRO-6000-Blackwell": "rtx_pro_6000_server",
}
AIC_QUANT = {"fp8": ("fp8", "fp8", "fp8"), "fp4": ("nvfp4", "fp8", "nvfp4")}


def pct(x: object) -> str:
    return (
        f"{100 * float(x):6.1f}%"
        if isinstance(x, int | float) and math.isfinite(float(x))
        else "     -"
    )


def print_summary(title: str, s: dict[str, object]) -> None:
    print(f"\n== {title}")
    print(
        f"coverage {s['scored']}/{s['scorable']} = {pct(s['coverage'])}   "
        f"median APE {pct(s['median_ape'])}   p90 APE {pct(s['p90_ape'])}   ({s['entries']} values)"
    )
    if s["oom_rows"]:
        print(f"OOM classification accuracy {pct(s['oom_accuracy'])} over {s['oom_rows']} rows")
    for group in ("by_field", "by_source", "by_hardware"):
        print(f"  {group.replace('_', ' ')}:")
        for name, st in s[group].items():  # type: ignore[union-attr]
            print(
                f"    {name:32s} n={st['n']:4d}  median {pct(st.get('median_ape'))}  p90 {pct(st.get('p90_ape'))}"
            )


def loso(
    rows: list[dict[str, str]],
) -> tuple[list[Entry], dict[str, object], dict[str, dict[str, float]]]:
    catalog = load_catalog()
    base = priors_calibration(load_default_calibration())
    parsed = parse_rows(rows, catalog)
    prep = prepare(parsed.specs, catalog, base)
    sources = sorted({s.source for s in parsed.specs})
    streaming_bw = measured_streaming_bw(load_kernel_efficiency())
    entries: list[Entry] = []
    fitted: dict[str, dict[str, float]] = {}
    for src in sources:
        train = np.array([i for i, s in enumerate(parsed.specs) if s.source != src])
        test = [i for i, s in enumerate(parsed.specs) if s.source == src]
        values = fit_calibration(
            fit_data(prep.subset(train), [parsed.measured[i] for i in train]),
            streaming_bw=streaming_bw,
        )
        fitted[src] = values
        cal = calibration_from_values(base, values, name=f"loso-{src}", source=f"fit without {src}")
        specs = [parsed.specs[i] for i in test]
        pred = predict(prepare(specs, catalog, cal))
        entries += score_predictions(specs, [parsed.measured[i] for i in test], pred)
    for why, source, hardware, meas in parsed.skipped:
        entries += [
            Entry(why.row_id, m, source, hardware, v, skipped=why.reason) for m, v in meas.items()
        ]
    return entries, summarize(entries, scorable=parsed.scorable), fitted


def check_targets(s: dict[str, object]) -> bool:
    ok = float(s["coverage"]) >= TARGET_COVERAGE  # type: ignore[arg-type]
    print(
        f"\ntarget coverage >= {TARGET_COVERAGE:.0%}: {'PASS' if ok else 'FAIL'} ({pct(s['coverage'])})"
    )
    for name, st in s["by_field"].items():  # type: ignore[union-attr]
        m_ok = st["median_ape"] <= TARGET_MEDIAN
        p_ok = st["p90_ape"] <= TARGET_P90
        ok &= m_ok and p_ok
        print(
            f"target {name:30s} median <= 15%: {'PASS' if m_ok else 'FAIL'} ({pct(st['median_ape'])}), "
            f"p90 <= 35%: {'PASS' if p_ok else 'FAIL'} ({pct(st['p90_ape'])})  n={st['n']}"
        )
    return bool(ok)


def write_calibration(rows: list[dict[str, str]], path: Path) -> None:
    catalog = load_catalog()
    base = priors_calibration(load_default_calibration())
    parsed = parse_rows(rows, catalog)
    prep = prepare(parsed.specs, catalog, base)
    values = fit_calibration(
        fit_data(prep, parsed.measured),
        streaming_bw=measured_streaming_bw(load_kernel_efficiency()),
    )
    cal = calibration_from_values(base, values, name="inference-efficiency", source="fit")
    entries = score_predictions(
        parsed.specs, parsed.measured, predict(prepare(parsed.specs, catalog, cal))
    )
    s = summarize(entries, scorable=parsed.scorable)
    source = (
        f"fitted by benchmarks/inference_validation.py --write-calibration on data/reference/inference.csv "
        f"({len(parsed.specs)} rows, {len({x.source for x in parsed.specs})} sources); "
        f"in-sample median APE {100 * float(s['median_ape']):.1f}%"
    )
    # Parameters the global level does not fit keep their assumed prior as the default.
    unfitted = {f"inference.{k}" for k in PRIORS if k not in LEVEL_PARAMS["global"]}
    prior_source = (
        "assumed prior, not fitted at the global level (aidc.validation.inference_fit.PRIORS; "
        "fitted only for device kinds and below)"
    )
    doc = {
        "name": "inference-efficiency",
        "description": "serving-model efficiencies fitted to the reference measurements (global, device kind, engine, accelerator, accelerator.engine.precision)",
        "values": {
            k: {"value": round(float(v), 6), "provenance": "assumed", "source": prior_source}
            if k in unfitted
            else {"value": round(float(v), 6), "provenance": "published", "source": source}
            for k, v in sorted(values.items(), key=lambda kv: (kv[0].count("."), kv[0]))
        },
    }
    header = (
        "# Efficiencies of the serving model (aidc.model.inference_step), looked up by\n"
        "# aidc.catalog.inference_calibration: inference.<accelerator>.<engine>.<precision>.<param>,\n"
        "# then inference.<accelerator>.<param>, inference.<engine>.<param>, inference.<param>.\n"
        "# Generated: .venv/bin/python benchmarks/inference_validation.py --write-calibration <this file>\n"
    )
    path.write_text(header + yaml.safe_dump(doc, sort_keys=False, width=100), encoding="utf-8")
    print(f"wrote {len(values)} values to {path} (in-sample median APE {pct(s['median_ape'])})")


def aiconfigurator_side_by_side(
    rows: list[dict[str, str]], loso_entries: list[Entry], aic_python: str
) -> None:
    """aiconfigurator on the TensorRT-LLM rows it supports, at the batch aidc's model uses."""
    catalog = load_catalog()
    cal = load_default_calibration()
    parsed = parse_rows(rows, catalog)
    idx = [
        i
        for i, s in enumerate(parsed.specs)
        if s.arch.id in AIC_MODELS
        and s.hardware in AIC_SYSTEMS
        and s.fmt in AIC_QUANT
        and s.mode == "continuous"
    ]
    if not idx:
        print("aiconfigurator: no supported rows")
        return
    specs = [parsed.specs[i] for i in idx]
    prep = prepare(specs, catalog, cal)
    g = continuous_generation(
        prep.base,
        input_len=np.array([s.input_len for s in specs]),
        output_len=np.array([s.output_len for s in specs]),
        concurrency=np.array([s.concurrency for s in specs]),
    )
    items = []
    for s, b in zip(specs, g.batch, strict=True):
        gemm, kv, moe = AIC_QUANT[s.fmt]
        item = {
            "id": s.row_id,
            "model_path": AIC_MODELS[s.arch.id],
            "system": AIC_SYSTEMS[s.hardware],
            "isl": s.input_len,
            "osl": s.output_len,
            "batch": int(max(b, 1)),
            "tp": s.tp,
            "pp": s.pp,
            "gemm": gemm,
            "kv": kv,
            "moe": moe if s.arch.is_moe else None,
        }
        if s.arch.is_moe and s.tp > 1:
            item.update(attention_dp=s.tp, moe_ep=s.tp)  # "MoE runs use attention DP"
        items.append(item)
    t0 = time.time()
    proc = subprocess.run(
        [aic_python, str(ROOT / "benchmarks" / "aiconfigurator_runner.py")],
        input=json.dumps(items),
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        print(f"aiconfigurator runner failed: {proc.stderr.strip().splitlines()[-1:]}")
        return
    res = json.loads(proc.stdout)
    loso_by_row = {
        e.row_id: e for e in loso_entries if e.metric == "output_tokens_per_s" and e.ape is not None
    }
    print(
        f"\n== aiconfigurator {len(items)} TensorRT-LLM rows ({time.time() - t0:.0f} s), output tokens/s, APE"
    )
    print(
        f"  {'row':6s} {'model':16s} {'hw':16s} {'tp':>2s} {'pp':>2s} {'isl/osl':>11s} {'batch':>5s} {'measured':>9s} {'aidc LOSO':>10s} {'aic':>10s}"
    )
    a_err, b_err, both = [], [], []
    for it, s in zip(items, specs, strict=True):
        meas = parsed.measured[idx[specs.index(s)]]["output_tokens_per_s"]
        e = loso_by_row.get(s.row_id)
        r = res.get(s.row_id, {})
        aic = r.get("output_tokens_per_s")
        ea = e.ape if e else None
        eb = abs(aic - meas) / meas if isinstance(aic, float) else None
        if ea is not None:
            a_err.append(ea)
        if eb is not None:
            b_err.append(eb)
            if ea is not None:
                both.append((ea, eb))
        print(
            f"  {s.row_id:6s} {s.arch.id[:16]:16s} {s.hardware[:16]:16s} {s.tp:2d} {s.pp:2d} "
            f"{int(s.input_len):5d}/{int(s.output_len):<5d} {it['batch']:5d} {meas:9.0f} {pct(ea):>10s} "
            f"{(pct(eb) if eb is not None else 'no answer'):>10s}"
            + (f"  (aic batch {r['batch']})" if r.get("batch") not in (None, it["batch"]) else "")
            + (f"  ({r['error'][:60]})" if "error" in r else "")
        )
    print(
        f"\n  aidc LOSO: median APE {pct(np.median(a_err))}  p90 {pct(np.percentile(a_err, 90))}  over {len(a_err)} rows"
    )
    if b_err:
        print(
            f"  aiconfigurator: median APE {pct(np.median(b_err))}  p90 {pct(np.percentile(b_err, 90))}  answered {len(b_err)}/{len(items)} rows"
        )
        ab = np.array(both)
        print(
            f"  rows both answered ({len(both)}): aidc median {pct(np.median(ab[:, 0]))}, "
            f"aiconfigurator median {pct(np.median(ab[:, 1]))}"
        )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--csv", type=Path, default=CSV)
    ap.add_argument("--write-calibration", type=Path, default=None)
    ap.add_argument(
        "--aic-python", default="/tmp/aic-venv/bin/python", help="python of aiconfigurator's venv"
    )
    ap.add_argument("--no-aic", action="store_true", help="skip the aiconfigurator comparison")
    args = ap.parse_args()
    with args.csv.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    if args.write_calibration:
        write_calibration(rows, args.write_calibration)
        return 0
    t0 = time.time()
    entries, summary, _ = loso(rows)
    print_summary(f"leave-one-source-out ({time.time() - t0:.1f} s)", summary)
    ok = check_targets(summary)
    if not args.no_aic:
        if Path(args.aic_python).exists():
            aiconfigurator_side_by_side(rows, entries, args.aic_python)
        else:
            print(
                f"\naiconfigurator: {args.aic_python} not found (python3 -m venv /tmp/aic-venv && /tmp/aic-venv/bin/pip install aiconfigurator)"
            )
    print("\nall targets met" if ok else "\ntargets not all met (see FAIL lines)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
