"""``aidc estimate training``: one model on one cluster — a given plan, or the best plans.

Parse the flags, load catalog and calibration, call
:func:`aidc.planner.training_estimate.estimate_training_run`, render. Bad flags give one
line naming the flag and the allowed values.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from aidc.catalog.efficiency import kernel_efficiency_for
from aidc.catalog.loader import load_catalog
from aidc.catalog.resolve import resolve_model
from aidc.catalog.schema import Precision
from aidc.cli.common import calibration_arg, console
from aidc.cli.subapps import estimate_app
from aidc.errors import AidcInputError
from aidc.model.memory import OPTIMIZERS
from aidc.model.training import TrainingCalibration, TrainingSettings
from aidc.model.transformer import param_counts
from aidc.planner.context import facility_params
from aidc.planner.training_estimate import (
    TrainingRunRequest,
    TrainingRunResult,
    estimate_training_run,
)
from aidc.search.training_space import default_global_batch_tokens
from aidc.spec.scenario import PriceOverrides
from aidc.units import DAY, GiB, fmt_bytes, fmt_count, fmt_seconds

RECOMPUTE_CHOICES = ("none", "selective", "full", "auto")
PRECISION_CHOICES = ("fp32", "tf32", "bf16", "fp16", "fp8")
ZERO_CHOICES = (0, 1, 2, 3)
CHINCHILLA_TOKENS_PER_PARAM = 20.0
"""Default training tokens: ~20 per parameter (Hoffmann et al. 2022, "Chinchilla")."""


def _choice(flag: str, value: str, allowed: tuple[str, ...]) -> str:
    v = value.strip().lower()
    if v not in allowed:
        raise AidcInputError(f"{value!r} is not allowed; allowed: {', '.join(allowed)}", field=flag)
    return v


def _positive(flag: str, value: int | None) -> None:
    if value is not None and value < 1:
        raise AidcInputError(f"must be a positive integer, got {value}", field=flag)


@estimate_app.command("training")
def estimate_training_command(
    model: Annotated[
        str,
        typer.Option("--model", help="catalog model name or path to a Hugging Face config.json"),
    ],
    accelerator: Annotated[
        str, typer.Option("--accelerator", help="catalog accelerator id or alias")
    ],
    devices: Annotated[int, typer.Option("--devices", help="number of devices")],
    tp: Annotated[int | None, typer.Option("--tp", help="tensor-parallel size")] = None,
    pp: Annotated[int | None, typer.Option("--pp", help="pipeline-parallel size")] = None,
    dp: Annotated[int | None, typer.Option("--dp", help="data-parallel size")] = None,
    cp: Annotated[int | None, typer.Option("--cp", help="context-parallel size")] = None,
    ep: Annotated[int | None, typer.Option("--ep", help="expert-parallel size (MoE)")] = None,
    vp: Annotated[
        int | None, typer.Option("--vp", help="virtual pipeline stages (interleaving)")
    ] = None,
    micro_batch: Annotated[
        int | None, typer.Option("--micro-batch", help="sequences per micro-batch")
    ] = None,
    global_batch: Annotated[
        int | None,
        typer.Option(
            "--global-batch",
            help="sequences per step (default ~4M tokens, at least 1024 per device)",
        ),
    ] = None,
    seq_len: Annotated[
        int | None,
        typer.Option(
            "--seq-len", help="tokens per sequence (default: the model's, capped at 8192)"
        ),
    ] = None,
    recompute: Annotated[
        str, typer.Option("--recompute", help="none | selective | full | auto")
    ] = "auto",
    zero: Annotated[int | None, typer.Option("--zero", help="ZeRO stage 0-3 (3 = FSDP)")] = None,
    optimizer: Annotated[
        str,
        typer.Option(
            "--optimizer", help="sgd | momentum | rmsprop | adam | adamw | adafactor | adam8bit"
        ),
    ] = "adamw",
    precision: Annotated[
        str, typer.Option("--precision", help="fp32 | tf32 | bf16 | fp16 | fp8")
    ] = "bf16",
    tokens: Annotated[
        float | None, typer.Option("--tokens", help="training tokens (default 20 per parameter)")
    ] = None,
    network: Annotated[
        str,
        typer.Option("--network", help="scale-out link id per device (aidc catalog list links)"),
    ] = "ib-ndr",
    compiled: Annotated[
        bool,
        typer.Option("--compile", help="a graph compiler fuses element-wise ops (torch.compile)"),
    ] = False,
    top: Annotated[int, typer.Option("--top", help="plans to show when searching")] = 5,
    calibration: Annotated[
        Path | None, typer.Option("--calibration", help="calibration file")
    ] = None,
    json_out: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Time, throughput, MFU, memory and energy of training MODEL on DEVICES x ACCELERATOR.

    Give the whole plan (--tp --pp --dp --micro-batch --recompute --zero) to evaluate it;
    leave fields out and aidc searches them and shows the best plans.
    """
    for flag, v in (
        ("--devices", devices),
        ("--tp", tp),
        ("--pp", pp),
        ("--dp", dp),
        ("--cp", cp),
        ("--ep", ep),
        ("--vp", vp),
        ("--micro-batch", micro_batch),
        ("--global-batch", global_batch),
        ("--seq-len", seq_len),
        ("--top", top),
    ):
        _positive(flag, v)
    rec = _choice("--recompute", recompute, RECOMPUTE_CHOICES)
    opt = _choice("--optimizer", optimizer, OPTIMIZERS)
    prec = Precision(_choice("--precision", precision, PRECISION_CHOICES))
    if zero is not None and zero not in ZERO_CHOICES:
        raise AidcInputError(f"{zero} is not allowed; allowed: 0, 1, 2, 3", field="--zero")
    if tokens is not None and not (math.isfinite(tokens) and tokens > 0):
        raise AidcInputError(f"must be a positive number of tokens, got {tokens}", field="--tokens")

    catalog = load_catalog()
    arch = resolve_model(model, catalog, field="--model")
    acc = catalog.accelerators.get(accelerator, field="--accelerator")
    if acc.peak_for(prec) is None:
        known = ", ".join(p.value for p in acc.peak_flops_per_s)
        raise AidcInputError(
            f"{acc.id} has no {prec.value} peak; allowed for it: {known}", field="--precision"
        )
    links = {lk.id: lk for lk in catalog.links}
    if network not in links:
        outs = sorted(lk.id for lk in catalog.links if lk.scope == "scale-out")
        raise AidcInputError(
            f"unknown link {network!r}; allowed: {', '.join(outs)}", field="--network"
        )
    seq = seq_len or min(arch.max_seq_len, 8192)
    gbs = global_batch or max(1, round(default_global_batch_tokens(devices) / seq))
    fixed = {
        k: v
        for k, v in (
            ("tp", tp),
            ("pp", pp),
            ("dp", dp),
            ("cp", cp),
            ("ep", ep),
            ("vp", vp),
            ("micro_batch", micro_batch),
            ("zero_stage", zero),
        )
        if v is not None
    }
    if rec != "auto":
        fixed["recompute"] = rec
    par = [(n, v) for n, v in (("tp", tp), ("pp", pp), ("dp", dp), ("cp", cp)) if v is not None]
    if len(par) == 4 and tp * pp * dp * cp != devices:
        raise AidcInputError(
            f"tp x pp x dp x cp = {tp * pp * dp * cp}, not the {devices} devices", field="--devices"
        )
    if par and math.prod(v for _, v in par) > devices:
        names = " x ".join(f"--{n}" for n, _ in par)
        raise AidcInputError(
            f"{names} = {math.prod(v for _, v in par)} exceeds {devices} devices", field="--devices"
        )
    total_tokens = tokens or CHINCHILLA_TOKENS_PER_PARAM * param_counts(arch).total
    req = TrainingRunRequest(
        arch=arch,
        accelerator=acc,
        kernel_efficiency=kernel_efficiency_for(acc),
        n_devices=devices,
        settings=TrainingSettings(seq_len=seq, optimizer=opt, precision=prec, compiled=compiled),
        global_batch_seqs=gbs,
        total_tokens=total_tokens,
        fixed=fixed,
        scaleout_link=network,
    )
    cal = TrainingCalibration.from_calibration(calibration_arg(calibration))
    fac = facility_params(catalog, PriceOverrides())
    result = estimate_training_run(req, links, cal, fac, top_k=top)
    if not result.plans:
        experts = f", EP divide the {arch.n_experts} experts" if arch.n_experts > 1 else ""
        raise AidcInputError(
            "no valid plan: the parallel sizes must multiply to the device count, TP divide the "
            f"{arch.n_heads} heads within the {acc.scaleup_domain_devices}-device scale-up domain, PP not exceed "
            f"{arch.n_layers} layers{experts}, and micro-batch x DP fit the global batch of {gbs}",
            field="--devices",
        )
    if json_out:
        print(json.dumps(_to_json(result, tokens is None), indent=2))
    else:
        _render(result, tokens is None)


def _to_json(result: TrainingRunResult, default_tokens: bool) -> dict[str, object]:
    req = result.request
    return {
        "model": req.arch.id,
        "accelerator": req.accelerator.id,
        "devices": req.n_devices,
        "seq_len": req.settings.seq_len,
        "global_batch_seqs": req.global_batch_seqs,
        "precision": req.settings.precision.value,
        "optimizer": req.settings.optimizer,
        "total_tokens": req.total_tokens,
        "total_tokens_assumed": default_tokens,
        "plans_evaluated": result.n_evaluated,
        "plans_feasible": result.n_feasible,
        "plans": [
            {
                "plan": p.plan,
                "fits": p.fits,
                "memory_shortfall_bytes": max(p.memory_shortfall_bytes, 0.0),
                "tight_fit": p.tight_fit,
                "metrics": p.metrics,
                "memory": p.memory,
            }
            for p in result.plans
        ],
    }


def _plan_label(plan: dict[str, int | str]) -> str:
    parts = [f"TP{plan['tp']} PP{plan['pp']} DP{plan['dp']}"]
    parts += [f"{k.upper()}{plan[k]}" for k in ("cp", "ep", "vp") if plan[k] != 1]
    parts.append(f"mb{plan['micro_batch']}x{plan['grad_accum']}")
    parts.append(f"ZeRO-{plan['zero_stage']} rc:{plan['recompute']}")
    return " ".join(parts)


def _render(result: TrainingRunResult, default_tokens: bool) -> None:
    req = result.request
    best = result.plans[0]
    console.print(
        f"[bold]{req.arch.id}[/] on {req.n_devices} x {req.accelerator.id}, seq {req.settings.seq_len:g}, "
        f"global batch {req.global_batch_seqs} seqs, {req.settings.precision.value}, {req.settings.optimizer}"
    )
    console.print(f"{result.n_evaluated} plans evaluated, {result.n_feasible} fit in memory")
    table = Table(show_lines=False)
    for col in (
        "#",
        "plan",
        "tokens/s/device",
        "MFU",
        "HFU",
        "step",
        "time to train",
        "memory/device",
        "fits",
    ):
        table.add_column(col)
    for i, p in enumerate(result.plans, 1):
        m, mem = p.metrics, p.memory
        fits = (
            f"no, by {fmt_bytes(p.memory_shortfall_bytes)}"
            if not p.fits
            else f"tight: {fmt_bytes(-p.memory_shortfall_bytes)} spare"
            if p.tight_fit
            else "yes"
        )
        table.add_row(
            str(i),
            _plan_label(p.plan),
            f"{m['tokens_per_s_per_device']:,.0f}",
            f"{m['mfu']:.1%}",
            f"{m['hfu']:.1%}",
            fmt_seconds(m["step_time_s"]),
            f"{m['time_to_train_s'] / DAY:,.1f} d",
            f"{fmt_bytes(mem['total_bytes'])} / {fmt_bytes(mem['capacity_bytes'])}",
            fits,
        )
    console.print(table)
    m, mem = best.metrics, best.memory
    note = " (20 tokens per parameter; set --tokens)" if default_tokens else ""
    console.print(f"[bold]Best plan:[/] {_plan_label(best.plan)}")
    console.print(
        f"  throughput {m['tokens_per_s']:,.0f} tokens/s ({m['tokens_per_s_per_device']:,.0f} per device; "
        f"band {m['tokens_per_s_per_device_low']:,.0f}-{m['tokens_per_s_per_device_high']:,.0f})"
    )
    console.print(
        f"  {fmt_count(req.total_tokens)} tokens{note}: {m['time_to_train_s'] / DAY:,.1f} days "
        f"({m['time_to_train_low_s'] / DAY:,.1f}-{m['time_to_train_high_s'] / DAY:,.1f}), "
        f"{m['device_hours']:,.0f} device-hours, {m['energy_kwh']:,.0f} kWh at the facility"
    )
    console.print(
        f"  memory per device: weights {fmt_bytes(mem['weights_bytes'])}, gradients {fmt_bytes(mem['grads_bytes'])}, "
        f"optimizer {fmt_bytes(mem['optimizer_bytes'])}, activations {fmt_bytes(mem['activations_bytes'])}, "
        f"buffers {fmt_bytes(mem['buffers_bytes'])} = {fmt_bytes(mem['total_bytes'])} of "
        f"{fmt_bytes(mem['capacity_bytes'])}"
        + ("" if best.fits else f" — does not fit by {best.memory_shortfall_bytes / GiB:.1f} GiB")
        + (
            f" — only {-best.memory_shortfall_bytes / GiB:.1f} GiB spare, within the memory"
            f" model's error: it may run out of memory"
            if best.tight_fit
            else ""
        )
    )
