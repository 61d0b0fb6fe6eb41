"""Start a bench run: fingerprint the machine, open the store, record the device probes."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aidc.bench.device import device_id
from aidc.bench.fingerprint import hardware_fingerprint, library_versions, thread_settings
from aidc.bench.probes import (
    copy_bandwidth_probe,
    derived_fp32_peak,
    gemm_fp32_probe,
    gemm_int8_probe,
)
from aidc.bench.store import Run, open_store, start_run
from aidc.catalog.loader import load_catalog


def default_threads() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def set_threads(threads: int) -> None:
    """PyTorch's intra-op pool (if installed); ONNX Runtime takes it per session."""
    try:
        import torch
    except ImportError:
        return
    torch.set_num_threads(threads)


def begin(db: Path, *, command: str, device: str, threads: int, settings: dict[str, Any]) -> Run:
    fp = hardware_fingerprint()
    ts = thread_settings()
    dev = device_id(device, fp, threads, load_catalog())
    conn = open_store(db)
    return start_run(
        conn,
        command=command,
        fingerprint=fp,
        libraries=library_versions(),
        settings={**settings, "device": device, "threads": threads, "thread_env": ts},
        device_id=dev,
    )


def record_cpu_probes(run: Run, threads: int, log: Callable[[str], None], quick: bool) -> None:
    """GEMM (fp32 and, with onnxruntime, int8) and copy-bandwidth probes of this CPU."""
    set_threads(threads)
    fp = {**hardware_fingerprint(), "affinity_cpus": threads}
    gemm = gemm_fp32_probe(
        sizes=(512, 1024) if quick else (512, 1024, 2048),
        budget_s=2.0 if quick else 6.0,
        threads=threads,
    )
    int8 = gemm_int8_probe(budget_s=1.0 if quick else 3.0, threads=threads)
    copy = copy_bandwidth_probe(threads=threads, repeats=3 if quick else 6)
    for p in (gemm, int8, copy):
        if p is None:
            continue
        extra = dict(p.detail)
        if p.name == "gemm_fp32":
            extra["derived_peak"] = derived_fp32_peak(fp)
        run.record(
            {
                "kind": "probe",
                "phase": p.name,
                "engine": "torch/onnxruntime"
                if p.name == "gemm_fp32"
                else ("onnxruntime" if p.name == "gemm_int8" else "numpy"),
                "precision": {"gemm_fp32": "fp32", "gemm_int8": "int8"}.get(p.name),
                "threads": threads,
                "throughput_per_s": p.value,
                "throughput_unit": p.unit,
            },
            extra,
        )
        log(f"probe {p.name}: {p.value:.3g} {p.unit}")
