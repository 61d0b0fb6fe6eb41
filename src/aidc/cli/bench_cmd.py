"""``aidc bench inference|training|storage|probe|export``: measure real engines here.

Thin: parse options, start a run in the results store, call :mod:`aidc.bench`, print.
Heavy libraries are imported inside :mod:`aidc.bench` only when a command runs.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from aidc.cli import app
from aidc.cli.common import console, err_console
from aidc.errors import AidcInputError

bench_app = typer.Typer(
    help="Measure engines, training steps and storage on this machine; store the results.",
    no_args_is_help=True,
)
app.add_typer(bench_app, name="bench")

DbOpt = Annotated[
    Path | None,
    typer.Option("--db", help="results store (SQLite); default ~/.local/share/aidc/bench.sqlite"),
]
QuickOpt = Annotated[
    bool, typer.Option("--quick", help="a small sweep that finishes in about a minute")
]
ThreadsOpt = Annotated[
    int | None,
    typer.Option("--threads", min=1, help="CPU threads (default: all this process may use)"),
]
DeviceOpt = Annotated[str, typer.Option("--device", help="auto, cpu or cuda")]

DEFAULT_MODELS = "bert-base,bert-large,all-minilm-l6-v2,gpt2,gpt2-medium,tinyllama-1.1b"
DEFAULT_ENGINES = "pytorch:fp32,onnxruntime:fp32,onnxruntime:int8"
DEFAULT_BATCHES, DEFAULT_SEQ_LENS, DEFAULT_GEN_LENS = "1,4,16", "32,128,384", "16,48"
GPU_ENGINES = "pytorch:fp32,pytorch:fp16,pytorch:bf16,onnxruntime:fp32"


def _ints(text: str, field: str) -> tuple[int, ...]:
    try:
        vals = tuple(int(t) for t in text.split(",") if t.strip())
    except ValueError:
        raise AidcInputError(
            f"give positive integers separated by commas, got {text!r}", field=field
        ) from None
    if not vals or min(vals) < 1:
        raise AidcInputError(
            f"give positive integers separated by commas, got {text!r}", field=field
        )
    return vals


def _log(msg: str) -> None:
    err_console.print(msg, highlight=False, markup=False, soft_wrap=True)


def _db(db: Path | None) -> Path:
    from aidc.bench.store import default_db_path

    path = db or default_db_path()
    _log(f"results store: {path}")
    return path


def _command_line() -> str:
    return "aidc " + " ".join(shlex.quote(a) for a in sys.argv[1:])


@bench_app.command("inference")
def inference_command(
    models: Annotated[
        str, typer.Option("--models", help="catalog ids or config.json paths, comma-separated")
    ] = DEFAULT_MODELS,
    engines: Annotated[
        str,
        typer.Option("--engines", help="engine:precision list (default CPU set; GPU set on CUDA)"),
    ] = "",
    batches: Annotated[str, typer.Option("--batches")] = DEFAULT_BATCHES,
    seq_lens: Annotated[
        str, typer.Option("--seq-lens", help="encoder lengths / decoder prompt lengths")
    ] = DEFAULT_SEQ_LENS,
    gen_lens: Annotated[
        str, typer.Option("--gen-lens", help="decoder output lengths")
    ] = DEFAULT_GEN_LENS,
    max_gflop: Annotated[
        float, typer.Option("--max-gflop-per-call", help="skip points with more forward work")
    ] = 400.0,
    accuracy: Annotated[
        bool,
        typer.Option(
            "--accuracy/--no-accuracy", help="INT8/FP32 embedding fidelity on the text sample"
        ),
    ] = True,
    budget_s: Annotated[
        float, typer.Option("--budget-s", min=0.0, help="measured seconds per point (after 5 runs)")
    ] = 3.0,
    probe: Annotated[
        bool, typer.Option("--probe/--no-probe", help="measure CPU GEMM and bandwidth first")
    ] = True,
    threads: ThreadsOpt = None,
    device: DeviceOpt = "auto",
    db: DbOpt = None,
    quick: QuickOpt = False,
) -> None:
    """Sweep models x engines x batch x sequence length; p50/p99 latency, throughput, memory."""
    from aidc.bench import require
    from aidc.bench.device import pick_device
    from aidc.bench.engines import parse_engine_specs
    from aidc.bench.inference import SweepGrid, run_inference_sweep
    from aidc.bench.session import begin, default_threads, record_cpu_probes
    from aidc.bench.timing import RepeatPolicy
    from aidc.catalog.loader import load_catalog
    from aidc.catalog.resolve import resolve_model
    from aidc.units import GIGA

    require("torch")
    dev = pick_device(device)
    n_threads = threads or default_threads()
    catalog = load_catalog()
    if quick:  # shrink only what the user left at its default
        models = "all-minilm-l6-v2,gpt2" if models == DEFAULT_MODELS else models
        batches = "1,4" if batches == DEFAULT_BATCHES else batches
        seq_lens = "32" if seq_lens == DEFAULT_SEQ_LENS else seq_lens
        gen_lens = "8" if gen_lens == DEFAULT_GEN_LENS else gen_lens
    archs = [
        resolve_model(m.strip(), catalog, field="--models") for m in models.split(",") if m.strip()
    ]
    specs = parse_engine_specs(engines or (GPU_ENGINES if dev == "cuda" else DEFAULT_ENGINES))
    grid = SweepGrid(
        _ints(batches, "--batches"),
        _ints(seq_lens, "--seq-lens"),
        _ints(gen_lens, "--gen-lens"),
        max_gflop * GIGA,
    )
    policy = RepeatPolicy.quick() if quick else RepeatPolicy(budget_s=budget_s)
    run = begin(
        _db(db),
        command=_command_line(),
        device=dev,
        threads=n_threads,
        settings={
            "kind": "inference",
            "grid": grid.__dict__,
            "policy": policy.__dict__,
            "engines": [str(s) for s in specs],
            "models": [a.id for a in archs],
        },
    )
    _log(f"device {run.device_id} ({dev}), {n_threads} threads, run {run.run_id}")
    if probe and dev == "cpu":
        record_cpu_probes(run, n_threads, _log, quick)
    n = run_inference_sweep(
        run, archs, specs, grid, policy, device=dev, threads=n_threads, log=_log, accuracy=accuracy
    )
    run.finish()
    console.print(f"recorded {n} measurements in run {run.run_id}")


@bench_app.command("probe")
def probe_command(threads: ThreadsOpt = None, db: DbOpt = None, quick: QuickOpt = False) -> None:
    """Measure this CPU's GEMM rate (fp32, int8) and memory bandwidth (the device description)."""
    from aidc.bench.session import begin, default_threads, record_cpu_probes

    n_threads = threads or default_threads()
    run = begin(
        _db(db),
        command=_command_line(),
        device="cpu",
        threads=n_threads,
        settings={"kind": "probe"},
    )
    record_cpu_probes(run, n_threads, _log, quick)
    run.finish()
    console.print(f"recorded {run.n_recorded} probes for {run.device_id}")


@bench_app.command("training")
def training_command(
    model: Annotated[str, typer.Option("--model", help="catalog id or config.json path")] = "gpt2",
    optimizers: Annotated[str, typer.Option("--optimizers")] = "sgd,momentum,rmsprop,adam,adamw",
    batch: Annotated[int, typer.Option("--batch", min=1)] = 2,
    seq_len: Annotated[int, typer.Option("--seq-len", min=1)] = 64,
    threads: ThreadsOpt = None,
    device: DeviceOpt = "auto",
    db: DbOpt = None,
    quick: QuickOpt = False,
) -> None:
    """Step time and measured optimizer-state bytes vs the training model, per optimizer."""
    from aidc.bench import require
    from aidc.bench.device import pick_device
    from aidc.bench.session import begin, default_threads
    from aidc.bench.timing import RepeatPolicy
    from aidc.bench.training import OPTIMIZERS, record_training, train_steps
    from aidc.catalog.loader import load_catalog
    from aidc.catalog.resolve import resolve_model

    require("torch")
    names = [o.strip().lower() for o in optimizers.split(",") if o.strip()]
    bad = [o for o in names if o not in OPTIMIZERS]
    if bad or not names:
        raise AidcInputError(
            f"unknown optimizer {bad[0] if bad else ''!r}; allowed: {', '.join(OPTIMIZERS)}",
            field="--optimizers",
        )
    dev = pick_device(device)
    n_threads = threads or default_threads()
    arch = resolve_model(model, load_catalog(), field="--model")
    if quick:
        seq_len = min(seq_len, 32)
    policy = RepeatPolicy.quick() if quick else RepeatPolicy()
    run = begin(
        _db(db),
        command=_command_line(),
        device=dev,
        threads=n_threads,
        settings={"kind": "training", "model": arch.id, "batch": batch, "seq_len": seq_len},
    )
    results = train_steps(
        arch,
        names,
        batch=batch,
        seq_len=seq_len,
        policy=policy,
        device=dev,
        threads=n_threads,
        on_result=record_training(run, arch, batch, seq_len, n_threads),
    )
    run.finish()
    t = Table(
        title=f"training step, {arch.id}, batch {batch} x {seq_len} tokens, fp32, {n_threads} threads"
    )
    for col in (
        "optimizer",
        "step p50 (wall)",
        "step p50 (CPU time)",
        "state bytes measured",
        "predicted",
        "agree",
        "step counters",
    ):
        t.add_column(col, justify="right")
    for r in results:
        t.add_row(
            r.optimizer,
            f"{r.step_s_p50 * 1e3:.1f} ms",
            f"{r.step_cpu_s_p50 * 1e3:.1f} ms",
            f"{r.state.per_element:,}",
            f"{r.predicted_state_bytes:,.0f}",
            "yes" if r.agrees else "NO",
            f"{r.state.bookkeeping} B",
        )
    console.print(t)
    if not all(r.agrees for r in results):
        raise typer.Exit(1)


@bench_app.command("storage")
def storage_command(
    directory: Annotated[
        Path, typer.Option("--dir", help="directory to probe (a file is written there and removed)")
    ] = Path("."),
    size_mib: Annotated[int, typer.Option("--size-mib", min=1)] = 1024,
    max_seconds: Annotated[float, typer.Option("--max-seconds", min=0.1)] = 30.0,
    repeats: Annotated[int, typer.Option("--repeats", min=1)] = 3,
    db: DbOpt = None,
    quick: QuickOpt = False,
) -> None:
    """Sequential fsync'd write and cold read throughput of a directory."""
    from aidc.bench.session import begin, default_threads
    from aidc.bench.storage import probe_directory
    from aidc.units import MiB, fmt_bytes_per_s

    if quick:
        size_mib, repeats = min(size_mib, 64), 1
    run = begin(
        _db(db),
        command=_command_line(),
        device="cpu",
        threads=default_threads(),
        settings={"kind": "storage", "dir": str(directory), "size_mib": size_mib},
    )
    for i in range(repeats):
        r = probe_directory(directory, size_bytes=size_mib * MiB, max_seconds=max_seconds)
        for phase, seconds, rate in (
            ("write", r.write_s, r.write_bytes_per_s),
            ("read", r.read_s, r.read_bytes_per_s),
        ):
            run.record(
                {
                    "kind": "storage",
                    "phase": phase,
                    "n_runs": 1,
                    "latency_p50_s": seconds,
                    "latency_mean_s": seconds,
                    "latency_min_s": seconds,
                    "latency_p99_s": seconds,
                    "throughput_per_s": rate,
                    "throughput_unit": "B/s",
                },
                {
                    "dir": str(Path(directory).resolve()),
                    "bytes": r.bytes_written,
                    "block_bytes": r.block_bytes,
                    "fsync": phase == "write",
                    "page_cache_dropped": r.page_cache_dropped,
                    "truncated_by_time": r.truncated_by_time,
                    "repeat": i,
                },
            )
        cache = (
            "page cache dropped" if r.page_cache_dropped else "read may come from the page cache"
        )
        console.print(
            f"{r.path}: write {fmt_bytes_per_s(r.write_bytes_per_s)} (fsync'd), "
            f"read {fmt_bytes_per_s(r.read_bytes_per_s)} ({cache}), {r.bytes_written / MiB:.0f} MiB"
            + (" [stopped at --max-seconds]" if r.truncated_by_time else "")
        )
    run.finish()


@bench_app.command("export")
def export_command(
    out: Annotated[Path, typer.Option("--out", help="file ending in .csv or .parquet")],
    db: DbOpt = None,
    force: Annotated[bool, typer.Option("--force", help="overwrite --out")] = False,
) -> None:
    """Write every stored measurement, with its run's settings, to CSV or Parquet."""
    from aidc.bench.store import default_db_path, export, open_store

    conn = open_store(db or default_db_path(), create=False)
    n = export(conn, out, force=force)
    console.print(f"wrote {n} measurements to {out}")
