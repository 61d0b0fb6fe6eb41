"""What machine and which software a measurement ran on.

The fingerprint is stored with every run so that a result can be traced to the hardware
(CPU model, cores, instruction-set flags, memory, GPU), the library versions and the
thread settings that produced it. CPU facts come from ``/proc/cpuinfo`` and
``os.sched_getaffinity``; GPU facts from NVML (``nvidia-ml-py``) when a GPU is present.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import re
from importlib import metadata
from pathlib import Path
from typing import Any

# Instruction-set extensions that decide CPU inference speed (matrix and dot-product units).
CPU_FLAGS_OF_INTEREST = (
    "fma",
    "avx2",
    "avx512f",
    "avx512bw",
    "avx512_vnni",
    "avx512_bf16",
    "avx512_fp16",
    "avx_vnni",
    "amx_tile",
    "amx_bf16",
    "amx_int8",
)

LIBRARIES = (
    "aidc",
    "numpy",
    "torch",
    "onnxruntime",
    "onnxruntime-gpu",
    "onnx",
    "transformers",
    "sentence-transformers",
    "openvino",
    "duckdb",
    "nvidia-ml-py",
)

THREAD_ENV = (
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "OPENBLAS_CORETYPE",
    "KMP_AFFINITY",
)


def _cpuinfo(text: str) -> dict[str, Any]:
    """Parse ``/proc/cpuinfo``: model name, vendor, flags, physical cores, sockets."""
    blocks = [b for b in text.strip().split("\n\n") if b.strip()]
    procs = []
    for b in blocks:
        d = {}
        for line in b.splitlines():
            if ":" in line:
                k, v = line.split(":", 1)
                d[k.strip()] = v.strip()
        procs.append(d)
    first = procs[0] if procs else {}
    flags = set(first.get("flags", "").split())
    cores = {(p.get("physical id", "0"), p.get("core id", str(i))) for i, p in enumerate(procs)}
    sockets = {p.get("physical id", "0") for p in procs}
    return {
        "cpu_model": first.get("model name", platform.processor() or "unknown"),
        "cpu_vendor": first.get("vendor_id", ""),
        "cpu_family": first.get("cpu family", ""),
        "cpu_model_number": first.get("model", ""),
        "logical_cpus": len(procs),
        "physical_cores": len(cores),
        "sockets": len(sockets),
        "cpu_mhz_reported": float(first["cpu MHz"]) if "cpu MHz" in first else None,
        "cpu_flags": sorted(f for f in CPU_FLAGS_OF_INTEREST if f in flags),
        "hypervisor": "hypervisor" in flags,
    }


def _meminfo_bytes() -> float | None:
    try:
        text = Path("/proc/meminfo").read_text()
    except OSError:
        return None
    m = re.search(r"^MemTotal:\s+(\d+)\s+kB", text, re.M)
    return float(m.group(1)) * 1024 if m else None


def _cache_bytes() -> dict[str, int]:
    """Cache sizes per level from sysfs (cpu0's view), e.g. ``{'L2': 2097152}``."""
    out: dict[str, int] = {}
    base = Path("/sys/devices/system/cpu/cpu0/cache")
    units = {"K": 1024, "M": 1024 * 1024}
    for idx in sorted(base.glob("index*")):
        try:
            level = (idx / "level").read_text().strip()
            kind = (idx / "type").read_text().strip()
            size = (idx / "size").read_text().strip()
        except OSError:
            continue
        if kind == "Instruction":
            continue
        n = int(size[:-1]) * units.get(size[-1], 1) if size[-1] in units else int(size)
        out[f"L{level}{'d' if kind == 'Data' else ''}"] = n
    return out


def gpu_facts() -> list[dict[str, Any]]:
    """GPUs seen by NVML (empty without a GPU or without ``nvidia-ml-py``)."""
    try:
        import pynvml
    except ImportError:
        return []
    try:
        pynvml.nvmlInit()
    except Exception:  # NVML raises its own error class when no driver is loaded
        return []
    gpus = []
    try:
        for i in range(pynvml.nvmlDeviceGetCount()):
            h = pynvml.nvmlDeviceGetHandleByIndex(i)
            name = pynvml.nvmlDeviceGetName(h)
            mem = pynvml.nvmlDeviceGetMemoryInfo(h)
            try:
                limit_w = pynvml.nvmlDeviceGetEnforcedPowerLimit(h) / 1000.0
            except Exception:
                limit_w = None
            gpus.append(
                {
                    "index": i,
                    "name": name.decode() if isinstance(name, bytes) else name,
                    "memory_bytes": float(mem.total),
                    "power_limit_w": limit_w,
                    "driver": _s(pynvml.nvmlSystemGetDriverVersion()),
                }
            )
    finally:
        pynvml.nvmlShutdown()
    return gpus


def _s(x: Any) -> str:
    return x.decode() if isinstance(x, bytes) else str(x)


def library_versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for name in LIBRARIES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def thread_settings() -> dict[str, Any]:
    """Environment thread variables and the CPUs this process may run on."""
    settings: dict[str, Any] = {k: os.environ.get(k) for k in THREAD_ENV}
    try:
        settings["affinity_cpus"] = len(os.sched_getaffinity(0))
    except AttributeError:
        settings["affinity_cpus"] = os.cpu_count()
    return settings


def hardware_fingerprint() -> dict[str, Any]:
    try:
        cpu = _cpuinfo(Path("/proc/cpuinfo").read_text())
    except OSError:
        cpu = {"cpu_model": platform.processor() or "unknown", "logical_cpus": os.cpu_count()}
    fp: dict[str, Any] = {
        **cpu,
        "caches_bytes": _cache_bytes(),
        "memory_bytes": _meminfo_bytes(),
        "machine": platform.machine(),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "gpus": gpu_facts(),
    }
    stable = {k: fp.get(k) for k in ("cpu_model", "logical_cpus", "cpu_flags", "memory_bytes")}
    stable["gpus"] = [g["name"] for g in fp["gpus"]]
    fp["fingerprint_id"] = hashlib.sha256(json.dumps(stable, sort_keys=True).encode()).hexdigest()[
        :12
    ]
    return fp


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def cpu_device_id(fp: dict[str, Any], threads: int) -> str:
    """A stable id for this CPU used with ``threads`` threads: ``cpu-<model>-<n>t``.

    The thread count is part of the id because peak and bandwidth scale with it.
    """
    model = slug(str(fp.get("cpu_model", "unknown")))
    model = re.sub(r"-(\d+)-core-processor$", "", model)
    return f"cpu-{model}-{threads}t"
