"""Repeated timing with warm-up, percentiles and peak memory.

* CPU: wall clock (``time.perf_counter``) around each call.
* CUDA: CUDA events recorded on the current stream around each call, read after a
  synchronize (kernel time as the GPU saw it, not host dispatch), plus the caching
  allocator's peak (``torch.cuda.max_memory_allocated``); power is sampled by
  :mod:`aidc.bench.gpu` while the timed calls run.

Peak host memory is the process's resident high-water mark (``VmHWM`` in
``/proc/self/status``), reset before each measurement by writing ``5`` to
``/proc/self/clear_refs`` (Linux >= 4.0; where that is refused the figure is the
process-lifetime peak and is labelled so).
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np


@dataclass(frozen=True)
class LatencyStats:
    n_warmup: int
    n_runs: int
    p50_s: float
    p99_s: float
    mean_s: float
    min_s: float
    samples_s: tuple[float, ...]
    cpu_samples_s: tuple[float, ...] = ()

    def cpu_time_stats(self) -> dict[str, float]:
        """Process CPU time per call (see :class:`Clock`); empty on a GPU."""
        if not self.cpu_samples_s:
            return {}
        a = np.asarray(self.cpu_samples_s, dtype=float)
        return {
            "cpu_time_p50_s": float(np.percentile(a, 50)),
            "cpu_time_mean_s": float(a.mean()),
            "cpu_time_min_s": float(a.min()),
        }

    def as_columns(self) -> dict[str, Any]:
        return {
            "n_warmup": self.n_warmup,
            "n_runs": self.n_runs,
            "latency_p50_s": self.p50_s,
            "latency_p99_s": self.p99_s,
            "latency_mean_s": self.mean_s,
            "latency_min_s": self.min_s,
        }


def stats(
    samples: list[float], n_warmup: int, cpu_samples: list[float] | None = None
) -> LatencyStats:
    a = np.asarray(samples, dtype=float)
    return LatencyStats(
        n_warmup=n_warmup,
        n_runs=len(a),
        p50_s=float(np.percentile(a, 50)),
        # with fewer than 100 runs the 99th percentile interpolates towards the maximum
        p99_s=float(np.percentile(a, 99)),
        mean_s=float(a.mean()),
        min_s=float(a.min()),
        samples_s=tuple(float(x) for x in a),
        cpu_samples_s=tuple(float(x) for x in cpu_samples or ()),
    )


@dataclass(frozen=True)
class RepeatPolicy:
    """How many times to run: at least ``min_runs``, at most ``max_runs``, and stop adding
    runs once ``budget_s`` of measured time has passed."""

    warmup: int = 2
    min_runs: int = 5
    max_runs: int = 50
    budget_s: float = 3.0

    @classmethod
    def quick(cls) -> RepeatPolicy:
        return cls(warmup=1, min_runs=3, max_runs=5, budget_s=0.5)


class Clock:
    """Times one call. ``device='cuda'`` uses CUDA events (needs torch with CUDA).

    On the CPU it also records the process CPU time of the call (``time.process_time``,
    all threads) in ``last_cpu_s``. With one compute thread and nothing waiting on I/O,
    CPU time is the latency the call would have on a machine of its own: time the
    thread spent descheduled because other programs shared the cores is not counted
    (shared-cache effects still are). With several threads it is their sum, not a
    latency. Both are stored; the wall clock is the latency of record.
    """

    def __init__(self, device: str = "cpu") -> None:
        self.device = device
        self.last_cpu_s = math.nan
        if device == "cuda":
            import torch

            self._torch = torch

    def time_call(self, fn: Callable[[], Any]) -> float:
        if self.device == "cuda":
            torch = self._torch
            start = torch.cuda.Event(enable_timing=True)
            end = torch.cuda.Event(enable_timing=True)
            start.record()
            fn()
            end.record()
            end.synchronize()
            return start.elapsed_time(end) / 1000.0  # elapsed_time is in ms
        c0 = time.process_time()
        t0 = time.perf_counter()
        fn()
        dt = time.perf_counter() - t0
        self.last_cpu_s = time.process_time() - c0
        return dt


def repeat(fn: Callable[[], Any], policy: RepeatPolicy, clock: Clock) -> LatencyStats:
    for _ in range(policy.warmup):
        clock.time_call(fn)
    samples: list[float] = []
    cpu: list[float] = []
    spent = 0.0
    while len(samples) < policy.max_runs and (
        len(samples) < policy.min_runs or spent < policy.budget_s
    ):
        dt = clock.time_call(fn)
        samples.append(dt)
        if clock.device != "cuda":
            cpu.append(clock.last_cpu_s)
        spent += dt
    return stats(samples, policy.warmup, cpu)


# ------------------------------------------------------------------------------ memory

_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")


def reset_peak_rss() -> bool:
    """Reset the resident high-water mark; False where the kernel refuses."""
    try:
        _CLEAR_REFS.write_text("5")
    except OSError:
        return False
    return True


def peak_rss_bytes() -> float:
    try:
        m = re.search(r"^VmHWM:\s+(\d+)\s+kB", _STATUS.read_text(), re.M)
    except OSError:
        return math.nan
    return float(m.group(1)) * 1024 if m else math.nan


class PeakMemory:
    """Peak memory over a block: host RSS, or the CUDA allocator's peak on a GPU."""

    def __init__(self, device: str = "cpu") -> None:
        self.device = device
        self.peak_bytes = math.nan
        self.scope = "process-rss-since-reset"

    def __enter__(self) -> PeakMemory:
        if self.device == "cuda":
            import torch

            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
            self.scope = "cuda-max-memory-allocated"
        elif not reset_peak_rss():
            self.scope = "process-rss-lifetime"
        return self

    def __exit__(self, *exc: object) -> None:
        if self.device == "cuda":
            import torch

            torch.cuda.synchronize()
            self.peak_bytes = float(torch.cuda.max_memory_allocated())
        else:
            self.peak_bytes = peak_rss_bytes()


def as_dict(s: LatencyStats) -> dict[str, Any]:
    d = asdict(s)
    d.pop("samples_s")
    return d
