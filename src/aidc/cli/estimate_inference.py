"""``aidc estimate inference``: one model on one hardware configuration, served."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from rich.table import Table

from aidc.catalog.loader import load_catalog
from aidc.catalog.resolve import resolve_model
from aidc.cli.common import calibration_arg, console
from aidc.cli.subapps import estimate_app
from aidc.errors import AidcInputError
from aidc.model.serving_sim import Requests
from aidc.planner.inference_estimate import estimate_inference
from aidc.units import fmt_bytes, fmt_seconds

DEFAULT_ENGINE = {"decoder": "vllm", "encoder": "onnxruntime"}
TRACE_COLUMNS = ("timestamp_s", "input_tokens", "output_tokens")


def read_trace(path: Path) -> Requests:
    """A request trace: one row per request with ``timestamp_s,input_tokens,output_tokens``."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            rows = list(csv.DictReader(fh))
    except OSError as err:
        raise AidcInputError(f"{path}: cannot read ({err.strerror})", field="--trace") from None
    if not rows or any(c not in rows[0] for c in TRACE_COLUMNS):
        raise AidcInputError(f"{path}: needs columns {', '.join(TRACE_COLUMNS)}", field="--trace")
    try:
        t = np.array([float(r["timestamp_s"]) for r in rows])
        n_in = np.array([max(round(float(r["input_tokens"])), 1) for r in rows], dtype=np.int64)
        n_out = np.array([max(round(float(r["output_tokens"])), 1) for r in rows], dtype=np.int64)
    except ValueError as err:
        raise AidcInputError(f"{path}: {err}", field="--trace") from None
    order = np.argsort(t, kind="stable")
    return Requests(t[order], n_in[order], n_out[order])


@estimate_app.command("inference")
def estimate_inference_command(
    model: Annotated[str, typer.Option("--model", help="catalog model or path to a config.json")],
    accelerator: Annotated[str, typer.Option("--accelerator", help="catalog accelerator")],
    devices: Annotated[
        int, typer.Option("--devices", help="devices in total (replicas x tp x pp)")
    ] = 1,
    tp: Annotated[int | None, typer.Option("--tp", help="tensor-parallel size")] = None,
    pp: Annotated[int | None, typer.Option("--pp", help="pipeline-parallel size")] = None,
    engine: Annotated[
        str | None, typer.Option("--engine", help="inference engine (vllm, tensorrt-llm, ...)")
    ] = None,
    engine_version: Annotated[
        str | None,
        typer.Option(
            "--engine-version",
            help="engine release, e.g. 0.6.1 (default: the current one; earlier releases"
            " differ where the catalog records it)",
        ),
    ] = None,
    precision: Annotated[
        str,
        typer.Option(
            "--precision",
            help="fp32, tf32, bf16, fp16, fp8, int8, int8-weight-only, int4-weight-only, w4a8, fp4",
        ),
    ] = "bf16",
    kv_precision: Annotated[
        str | None, typer.Option("--kv-precision", help="KV-cache precision (fp16, fp8, int8)")
    ] = None,
    batch_size: Annotated[int | None, typer.Option("--batch-size", help="static batch")] = None,
    concurrency: Annotated[
        int | None, typer.Option("--concurrency", help="concurrent requests (closed loop)")
    ] = None,
    rate: Annotated[
        float | None, typer.Option("--rate", help="arrival rate, requests/s (open loop)")
    ] = None,
    input_len: Annotated[float, typer.Option("--input-len", help="prompt tokens")] = 512,
    output_len: Annotated[float, typer.Option("--output-len", help="generated tokens")] = 128,
    seq_len: Annotated[float, typer.Option("--seq-len", help="encoder sequence length")] = 128,
    sparsity: Annotated[
        str, typer.Option("--sparsity", help="none, 2:4 (where kernels exist) or unstructured")
    ] = "none",
    arrival: Annotated[
        str, typer.Option("--arrival", help="with --rate: poisson or bursty")
    ] = "poisson",
    trace: Annotated[
        Path | None,
        typer.Option("--trace", help="CSV of requests: timestamp_s,input_tokens,output_tokens"),
    ] = None,
    calibration: Annotated[
        Path | None, typer.Option("--calibration", help="calibration file")
    ] = None,
    json_out: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """TTFT, TPOT, end-to-end latency, tokens/s and memory; says when it does not fit."""
    if sum(x is not None for x in (batch_size, concurrency, rate, trace)) > 1:
        raise AidcInputError("give at most one of --batch-size, --concurrency, --rate, --trace")
    if arrival not in ("poisson", "bursty"):
        raise AidcInputError(
            f"unknown arrival {arrival!r}; allowed: poisson, bursty", field="--arrival"
        )
    for name, value in (("--batch-size", batch_size), ("--concurrency", concurrency)):
        if value is not None and value < 1:
            raise AidcInputError("must be at least 1", field=name)
    if rate is not None and not rate > 0:
        raise AidcInputError("must be positive", field="--rate")
    for name, value in (
        ("--input-len", input_len),
        ("--output-len", output_len),
        ("--seq-len", seq_len),
    ):
        if not value >= 1:
            raise AidcInputError("must be at least 1", field=name)
    catalog = load_catalog()
    arch = resolve_model(model, catalog, field="--model")
    acc = catalog.accelerators.get(accelerator, field="--accelerator")
    eng = catalog.software.get(engine or DEFAULT_ENGINE[arch.kind], field="--engine")
    if eng.kind == "framework" and engine is None:
        raise AidcInputError(f"{eng.id} is a framework; name an inference engine", field="--engine")
    est = estimate_inference(
        arch=arch,
        accelerator=acc,
        engine=eng,
        engine_version=engine_version,
        precision=precision,
        devices=devices,
        links={lk.id: lk for lk in catalog.links},
        calibration=calibration_arg(calibration),
        tp=tp,
        pp=pp,
        batch=batch_size,
        concurrency=concurrency,
        rate=rate,
        input_len=input_len,
        output_len=output_len,
        seq_len=seq_len,
        kv_precision=kv_precision,
        sparsity=sparsity,
        arrival=arrival,
        trace=read_trace(trace) if trace is not None else None,
    )
    if json_out:
        print(json.dumps(est.as_dict(), indent=2))
        return
    table = Table(
        title=f"{est.model} on {devices} x {est.accelerator} ({est.engine}, {est.precision}, tp={est.tp}, pp={est.pp}, {est.replicas} replica(s)): {est.mode}"
    )
    table.add_column("metric")
    table.add_column("value", justify="right")
    for k, v in est.metrics.items():
        is_time = k.endswith("_s") and not k.endswith("per_s")
        shown = fmt_seconds(v) if is_time else f"{v:,.4g}"
        label = k.removesuffix("_s") if is_time else k.replace("_per_s", "/s")
        table.add_row(label.replace("_", " "), shown)
    for k, v in est.memory.items():
        if k == "max_concurrency":
            shown = f"{v:,.0f}" if np.isfinite(v) else "no KV cache"
        else:
            shown = fmt_bytes(v)
        table.add_row(
            f"memory: {k.replace('_', ' ')}" + (" (requests)" if k == "max_concurrency" else ""),
            shown,
        )
    console.print(table)
    if not est.fits:
        console.print(
            f"[red]does not fit[/red]: short by {fmt_bytes(est.shortfall_bytes)} per device"
        )
    for note in est.notes:
        console.print(f"note: {note}")
