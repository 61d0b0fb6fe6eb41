"""GPU power while a measurement runs, sampled through NVML (``nvidia-ml-py``).

``nvmlDeviceGetPowerUsage`` reports board power in milliwatts, averaged by the driver
over a short window (about 1 s on recent GPUs), so short measurements see a lagged
value; the sampler records the mean, the maximum and the number of samples so the
reader can judge. Energy per call is mean power x call time.
"""

from __future__ import annotations

import contextlib
import math
import threading
from dataclasses import dataclass, field
from typing import Any


@dataclass
class PowerSampler:
    """Context manager sampling GPU ``index``'s power every ``interval_s`` seconds."""

    index: int = 0
    interval_s: float = 0.05
    samples_w: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._nvml: Any = None

    def __enter__(self) -> PowerSampler:
        try:
            import pynvml

            pynvml.nvmlInit()
            self._nvml = pynvml
            self._handle = pynvml.nvmlDeviceGetHandleByIndex(self.index)
        except Exception:  # no NVML, no driver: power stays unknown
            self._nvml = None
            return self
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()
        return self

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                mw = self._nvml.nvmlDeviceGetPowerUsage(self._handle)
                self.samples_w.append(mw / 1000.0)
            except Exception:
                return
            self._stop.wait(self.interval_s)

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2.0)
        if self._nvml is not None:
            with contextlib.suppress(Exception):
                self._nvml.nvmlShutdown()

    def summary(self) -> dict[str, float]:
        if not self.samples_w:
            return {"power_mean_w": math.nan, "power_max_w": math.nan, "power_samples": 0}
        return {
            "power_mean_w": sum(self.samples_w) / len(self.samples_w),
            "power_max_w": max(self.samples_w),
            "power_samples": float(len(self.samples_w)),
        }
