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


_FORM_FACTORS = ("SXM", "PCIE", "NVL")
_VENDOR_WORDS = {"NVIDIA", "TESLA", "AMD", "INSTINCT", "GEFORCE"}


def _tokens(text: str) -> list[str]:
    """Upper-case words; ``SXM4``/``SXM5`` count as ``SXM``."""
    words = [w.upper() for w in re.split(r"[\s_\-]+", text.strip()) if w]
    return [("SXM" if w.startswith("SXM") else w) for w in words]


def match_gpu(name: str, catalog: Catalog, memory_bytes: float | None = None) -> str | None:
    """Catalog id for an NVML device name (``NVIDIA H100 80GB HBM3``, ``NVIDIA
    A100-SXM4-80GB``), or None.

    Candidates share the name's first word (``H100``); the one whose id names most of the
    name's words wins (a name without ``PCIe``/``NVL`` is an SXM part), then the one whose
    memory is closest to what NVML reports.
    """
    words = [w for w in _tokens(name) if w not in _VENDOR_WORDS]
    if not words:
        return None
    if not any(w in _FORM_FACTORS for w in words):
        words.append("SXM")
    family = words[0]
    best: tuple[float, float, str] | None = None
    for acc in catalog.accelerators:
        ids = [_tokens(n) for n in acc.names]
        if not any(t and t[0] == family for t in ids):
            continue
        score = max(len(set(words) & set(t)) for t in ids)
        mem_gap = abs(acc.memory_bytes - memory_bytes) if memory_bytes else 0.0
        key = (score, -mem_gap, acc.id)
        if best is None or key[:2] > best[:2]:
            best = key
    return best[2] if best else None


def device_id(device: str, fingerprint: dict[str, Any], threads: int, catalog: Catalog) -> str:
    if device == "cuda":
        gpus = fingerprint.get("gpus") or []
        name = gpus[0]["name"] if gpus else _torch_gpu_name()
        mem = gpus[0].get("memory_bytes") if gpus else None
        return match_gpu(name, catalog, mem) or f"gpu-{slug(name)}"
    return cpu_device_id(fingerprint, threads)


def _torch_gpu_name() -> str:
    torch = require("torch")
    return str(torch.cuda.get_device_name(0))
