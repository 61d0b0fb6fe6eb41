"""The device a bench ran on, as the analytical inference model needs it.

A catalog accelerator (GPU) is used as the catalog describes it. A CPU is described by
its probes (``aidc bench probe``, also run first by ``aidc bench inference``): the best
fp32 GEMM rate and, where measured, the int8 and bf16 GEMM rates as its peaks per
precision, the STREAM-copy rate as its memory bandwidth, ``MemTotal`` as its memory. The
best of repeated probes is kept (the least disturbed by other work on the machine).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from aidc.catalog.schema import Accelerator, Precision
from aidc.model.hardware import HardwareArrays, hardware_arrays
from aidc.units import GIGA, TERA, GiB

PROBE_PRECISION = {
    "gemm_fp32": Precision.FP32,
    "gemm_int8": Precision.INT8,
    "gemm_bf16": Precision.BF16,
}


@dataclass(frozen=True)
class MeasuredDevice:
    """A device described by measurements (SI units), with how each figure was obtained."""

    id: str
    peak_flops_per_s: dict[Precision, float]
    memory_bw_bytes_per_s: float
    memory_bytes: float
    how: dict[str, str] = field(default_factory=dict)
    kind: str = "cpu"
    """Device class for the efficiency lookup (``inference.<kind>.<param>``): measured
    devices are the host CPU (a GPU under test resolves to its catalog accelerator)."""

    def peak_for(self, precision: Precision) -> float | None:
        if precision in self.peak_flops_per_s:
            return self.peak_flops_per_s[precision]
        twin = {Precision.BF16: Precision.FP16, Precision.FP16: Precision.BF16}.get(precision)
        return self.peak_flops_per_s.get(twin) if twin else None

    def calibration_entries(self) -> dict[str, tuple[float, str]]:
        """``device.<id>.<field>`` -> (value in the key's human unit, how obtained)."""
        out = {
            f"device.{self.id}.memory_bw_gb_per_s": (
                self.memory_bw_bytes_per_s / GIGA,
                self.how.get("memory_bw", ""),
            ),
            # device memory in binary GiB, as the catalog's accelerators give it
            f"device.{self.id}.memory_gib": (self.memory_bytes / GiB, self.how.get("memory", "")),
        }
        for prec, v in self.peak_flops_per_s.items():
            out[f"device.{self.id}.peak_{prec.value}_tflops"] = (
                v / TERA,
                self.how.get(prec.value, ""),
            )
        return out


def device_from_probes(
    device_id: str, probes: Iterable[Mapping[str, Any]], memory_bytes: float | None
) -> MeasuredDevice | None:
    """Build the description from probe rows of ``device_id`` (None without a GEMM and a copy probe)."""
    best: dict[str, Mapping[str, Any]] = {}
    for r in probes:
        if r.get("device_id") != device_id or r.get("kind") != "probe":
            continue
        ph = str(r["phase"])
        if ph not in best or float(r["throughput_per_s"]) > float(best[ph]["throughput_per_s"]):
            best[ph] = r
    if "gemm_fp32" not in best or "stream_copy" not in best:
        return None
    peaks: dict[Precision, float] = {}
    how: dict[str, str] = {}
    for ph, prec in PROBE_PRECISION.items():
        if ph in best:
            peaks[prec] = float(best[ph]["throughput_per_s"])
            how[prec.value] = (
                f"measured: best {ph} probe ({best[ph].get('engine')}, "
                f"{best[ph].get('threads')} threads, measurement id {best[ph].get('id')})"
            )
    copy = best["stream_copy"]
    how["memory_bw"] = (
        f"measured: STREAM-style copy, {copy.get('threads')} threads "
        f"(measurement id {copy.get('id')})"
    )
    how["memory"] = "MemTotal from /proc/meminfo"
    return MeasuredDevice(
        id=device_id,
        peak_flops_per_s=peaks,
        memory_bw_bytes_per_s=float(copy["throughput_per_s"]),
        memory_bytes=float(memory_bytes) if memory_bytes else math.inf,
        how=how,
    )


def hardware_row(
    device: MeasuredDevice | Accelerator, precision: Precision, links: dict
) -> HardwareArrays:  # type: ignore[type-arg]
    """One-row :class:`HardwareArrays` for the inference model (single device, no links)."""
    if isinstance(device, Accelerator):
        return hardware_arrays([device], precision, links)
    peak = device.peak_for(precision)

    def one(x: float) -> np.ndarray:
        return np.array([x], dtype=float)

    # a lone CPU: no scale-up or scale-out link is used at tp = 1 (infinite bandwidth and
    # zero latency make any collective term vanish rather than inventing a link)
    return HardwareArrays(
        accelerator=np.array([device.id], dtype=object),
        peak_flops_per_s=one(peak if peak else math.nan),
        memory_bytes=one(device.memory_bytes),
        hbm_bw_bytes_per_s=one(device.memory_bw_bytes_per_s),
        scaleup_bw_bytes_per_s=one(math.inf),
        scaleup_latency_s=one(0.0),
        scaleup_domain_devices=one(1.0),
        devices_per_node=one(1.0),
        scaleout_bw_bytes_per_s=one(math.inf),
        scaleout_latency_s=one(0.0),
        tdp_w=one(math.nan),
    )
