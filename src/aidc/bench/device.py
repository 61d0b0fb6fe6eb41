"""Which device a bench runs on, and the id its calibration values are filed under.

* GPU: the NVML name (``NVIDIA H200``, ``NVIDIA H100 80GB HBM3``) is matched to a catalog
  accelerator (id or alias, longest matching prefix of the name's words), so that
  ``aidc plan --calibration FILE`` picks the values up for that catalog device.
* CPU: ``cpu-<model>-<threads>t`` (see :func:`aidc.bench.fingerprint.cpu_device_id`);
  its peak and bandwidth come from the probes, not from the catalog.
"""

from __future__ import annotations

import re
from typing import Any

from aidc.bench import require
from aidc.bench.fingerprint import cpu_device_id, slug
from aidc.catalog.loader import Catalog
from aidc.errors import AidcInputError


def pick_device(requested: str) -> str:
    """``auto`` -> ``cuda`` when PyTorch sees a GPU, else ``cpu``."""
    if requested not in ("auto", "cpu", "cuda"):
        raise AidcInputError(
            f"unknown device {requested!r}; allowed: auto, cpu, cuda", field="--device"
        )
    if requested == "cpu":
        return "cpu"
    torch = require("torch")
    has_cuda = bool(torch.cuda.is_available())
    if requested == "cuda" and not has_cuda:
        raise AidcInputError("no CUDA device is visible to PyTorch", field="--device")
    return "cuda" if has_cuda else "cpu"


def match_gpu(name: str, catalog: Catalog) -> str | None:
    """Catalog id for an NVML device name, or None."""
    words = [w for w in re.split(r"[\s_]+", name.strip()) if w and w.upper() != "NVIDIA"]
    for n in range(len(words), 0, -1):
        for cand in ("-".join(words[:n]), " ".join(words[:n])):
            rec = catalog.accelerators.find(cand)
            if rec is not None:
                return rec.id
    return None


def device_id(device: str, fingerprint: dict[str, Any], threads: int, catalog: Catalog) -> str:
    if device == "cuda":
        gpus = fingerprint.get("gpus") or []
        name = gpus[0]["name"] if gpus else _torch_gpu_name()
        return match_gpu(name, catalog) or f"gpu-{slug(name)}"
    return cpu_device_id(fingerprint, threads)


def _torch_gpu_name() -> str:
    torch = require("torch")
    return str(torch.cuda.get_device_name(0))
