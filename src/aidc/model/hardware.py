"""Hardware as numpy arrays: one row per candidate, for vectorised models.

The analytical models evaluate thousands of candidates at once. Each candidate names an
accelerator (and the number of devices, the plan…); :class:`HardwareArrays` gathers the
accelerator facts those models need into aligned float arrays, in SI units.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields

import numpy as np

from aidc.catalog.schema import Accelerator, Link, Precision

DEFAULT_SCALEOUT_LINK = "ib-ndr"
"""Scale-out network assumed per device when a candidate names none (one NIC per device)."""


@dataclass(frozen=True)
class HardwareArrays:
    """Per-candidate hardware facts. All arrays share one length."""

    accelerator: np.ndarray  # object: accelerator id
    peak_flops_per_s: np.ndarray  # dense peak at the candidate's compute precision
    memory_bytes: np.ndarray
    hbm_bw_bytes_per_s: np.ndarray
    scaleup_bw_bytes_per_s: np.ndarray  # per device, per direction
    scaleup_latency_s: np.ndarray
    scaleup_domain_devices: np.ndarray
    devices_per_node: np.ndarray
    scaleout_bw_bytes_per_s: np.ndarray  # per device, per direction
    scaleout_latency_s: np.ndarray
    tdp_w: np.ndarray  # NaN where not published

    def __len__(self) -> int:
        return len(self.accelerator)

    def take(self, idx: np.ndarray) -> HardwareArrays:
        return HardwareArrays(**{f.name: getattr(self, f.name)[idx] for f in fields(self)})


def hardware_arrays(
    accelerators: Sequence[Accelerator],
    precision: Precision | Sequence[Precision],
    links: dict[str, Link],
    scaleout_link: str | Sequence[str] = DEFAULT_SCALEOUT_LINK,
) -> HardwareArrays:
    """Gather facts for each accelerator (one row each).

    ``precision`` may be one for all rows or one per row. A device with no fast path for
    a precision gets NaN peak; callers treat that as infeasible.
    """
    n = len(accelerators)
    precs = [precision] * n if isinstance(precision, Precision | str) else list(precision)
    outs = [scaleout_link] * n if isinstance(scaleout_link, str) else list(scaleout_link)
    peak = np.array(
        [a.peak_for(Precision(p)) or np.nan for a, p in zip(accelerators, precs, strict=True)],
        dtype=float,
    )
    up_lat = []
    for a in accelerators:
        link = links.get(a.scaleup_link)
        up_lat.append(link.latency_s if link else np.nan)
    out_bw = [links[o].bw_bytes_per_s_per_direction for o in outs]
    out_lat = [links[o].latency_s for o in outs]
    return HardwareArrays(
        accelerator=np.array([a.id for a in accelerators], dtype=object),
        peak_flops_per_s=peak,
        memory_bytes=np.array([a.memory_bytes for a in accelerators], dtype=float),
        hbm_bw_bytes_per_s=np.array([a.hbm_bw_bytes_per_s for a in accelerators], dtype=float),
        scaleup_bw_bytes_per_s=np.array(
            [a.scaleup_bw_bytes_per_s_per_direction for a in accelerators], dtype=float
        ),
        scaleup_latency_s=np.array(up_lat, dtype=float),
        scaleup_domain_devices=np.array(
            [a.scaleup_domain_devices for a in accelerators], dtype=float
        ),
        devices_per_node=np.array([a.devices_per_node for a in accelerators], dtype=float),
        scaleout_bw_bytes_per_s=np.array(out_bw, dtype=float),
        scaleout_latency_s=np.array(out_lat, dtype=float),
        tdp_w=np.array([a.tdp_w if a.tdp_w else np.nan for a in accelerators], dtype=float),
    )
