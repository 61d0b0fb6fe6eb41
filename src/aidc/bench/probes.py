"""Device probes: achievable matrix-multiply rate and memory bandwidth of this machine.

The analytical models need a device description (peak FLOP/s per precision, memory
bandwidth). For a GPU the catalog has the vendor's figures; for the CPU at hand aidc
measures them:

* **GEMM probe**: the best rate of ``n x n`` by ``n x n`` fp32 matrix products
  (``2 n^3`` FLOP each) through numpy's BLAS and, when installed, PyTorch's (the library
  the engines use); the maximum over sizes and libraries is the *achievable* peak.
* **INT8 GEMM probe** (needs onnxruntime): ``MatMulInteger`` of int8 x int8 -> int32 in
  ONNX Runtime, ``2 m k n`` operations per product, the kernel dynamic quantization runs.
* **Copy probe** (STREAM "Copy", McCalpin 1995): ``b[:] = a`` over arrays far larger
  than the last-level cache, one slice per CPU in parallel threads (numpy releases the
  GIL); bytes moved = 2 x array bytes (read ``a``, write ``b``; the write-allocate read
  is not counted, as in STREAM).

A *derived* fp32 peak (cores x clock x FLOP/cycle from the flags) is recorded beside the
measured one as a cross-check only: in a virtual machine the clock is not known.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from aidc.units import MEGA, MiB


@dataclass(frozen=True)
class ProbeResult:
    name: str
    value: float  # FLOP/s, op/s or B/s
    unit: str
    detail: dict[str, Any]


def _best_rate(fn: Any, work: float, *, repeats: int, budget_s: float) -> float:
    """Best ``work / t`` over repeated calls, ``t = min(wall time, process CPU time)``.

    With one thread the CPU time excludes time the thread spent descheduled by other
    programs on a shared machine; with several threads it exceeds the wall time, which
    then counts (see :class:`aidc.bench.timing.Clock`).
    """
    fn()  # warm-up (thread pool start, page faults)
    best = 0.0
    t_end = time.perf_counter() + budget_s
    for _ in range(repeats):
        c0 = time.process_time()
        t0 = time.perf_counter()
        fn()
        dt = min(time.perf_counter() - t0, time.process_time() - c0)
        if dt > 0:
            best = max(best, work / dt)
        if time.perf_counter() > t_end:
            break
    return best


def gemm_fp32_probe(
    sizes: tuple[int, ...] = (512, 1024, 2048), budget_s: float = 6.0, threads: int | None = None
) -> ProbeResult:
    """Best fp32 GEMM rate over the libraries the engines use: PyTorch (its thread
    setting) and ONNX Runtime's ``MatMul`` (``threads`` intra-op threads) where installed,
    numpy's BLAS otherwise (its own thread count). Libraries differ by up to 2x on one
    CPU; the best is the device's achievable peak, and each engine's efficiency is
    relative to it."""
    per_size: dict[str, float] = {}
    try:
        import torch
    except ImportError:
        torch = None
    if torch is not None:
        for n in sizes:
            ta, tb, tc = torch.randn(n, n), torch.randn(n, n), torch.empty(n, n)
            per_size[f"torch_{n}"] = _best_rate(
                lambda ta=ta, tb=tb, tc=tc: torch.matmul(ta, tb, out=tc),
                2.0 * n**3,
                repeats=20,
                budget_s=budget_s / len(sizes),
            )
    else:
        rng = np.random.default_rng(0)
        for n in sizes:
            a = rng.standard_normal((n, n), dtype=np.float32)
            b = rng.standard_normal((n, n), dtype=np.float32)
            c = np.empty((n, n), dtype=np.float32)
            per_size[f"numpy_{n}"] = _best_rate(
                lambda a=a, b=b, c=c: np.matmul(a, b, out=c),
                2.0 * n**3,
                repeats=20,
                budget_s=budget_s / len(sizes),
            )
    for n in sizes:
        rate = _ort_matmul_rate(n, "fp32", budget_s / len(sizes), threads)
        if rate is not None:
            per_size[f"onnxruntime_{n}"] = rate
    best_key = max(per_size, key=per_size.__getitem__)
    return ProbeResult(
        "gemm_fp32",
        per_size[best_key],
        "FLOP/s",
        {"per_size_flops_per_s": per_size, "best": best_key, "threads_torch": _torch_threads()},
    )


def _torch_threads() -> int | None:
    try:
        import torch
    except ImportError:
        return None
    return int(torch.get_num_threads())


def _ort_matmul_rate(n: int, kind: str, budget_s: float, threads: int | None) -> float | None:
    """``n x n x n`` MatMul (fp32) or MatMulInteger (int8 x int8 -> int32) in ONNX Runtime."""
    try:
        import onnx
        import onnxruntime as ort
        from onnx import TensorProto, helper
    except ImportError:
        return None
    rng = np.random.default_rng(0)
    if kind == "fp32":
        w = rng.standard_normal((n, n), dtype=np.float32)
        node = helper.make_node("MatMul", ["a", "w"], ["y"])
        a_type, w_type, y_type = TensorProto.FLOAT, TensorProto.FLOAT, TensorProto.FLOAT
        a = rng.standard_normal((n, n), dtype=np.float32)
    else:
        w = rng.integers(-127, 127, size=(n, n), dtype=np.int8)
        node = helper.make_node("MatMulInteger", ["a", "w"], ["y"])
        a_type, w_type, y_type = TensorProto.UINT8, TensorProto.INT8, TensorProto.INT32
        a = rng.integers(0, 255, size=(n, n), dtype=np.uint8)
    graph = helper.make_graph(
        [node],
        f"{kind}_gemm_probe",
        [helper.make_tensor_value_info("a", a_type, [n, n])],
        [helper.make_tensor_value_info("y", y_type, [n, n])],
        initializer=[helper.make_tensor("w", w_type, [n, n], w.tobytes(), raw=True)],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = min(model.ir_version, 9)
    onnx.checker.check_model(model)
    so = ort.SessionOptions()
    if threads:
        so.intra_op_num_threads = threads
    sess = ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"])
    return _best_rate(lambda: sess.run(None, {"a": a}), 2.0 * n**3, repeats=30, budget_s=budget_s)


def gemm_int8_probe(
    n: int = 1024, budget_s: float = 3.0, threads: int | None = None
) -> ProbeResult | None:
    """int8 x int8 -> int32 ``MatMulInteger`` in ONNX Runtime (None without it): the
    kernel dynamic quantization runs; ``2 n^3`` integer operations per product."""
    rate = _ort_matmul_rate(n, "int8", budget_s, threads)
    if rate is None:
        return None
    return ProbeResult(
        "gemm_int8", rate, "op/s", {"n": n, "engine": "onnxruntime", "threads": threads}
    )


def copy_bandwidth_probe(
    array_bytes: float = 512 * MiB, threads: int | None = None, repeats: int = 6
) -> ProbeResult:
    nthreads = threads or len(os.sched_getaffinity(0))
    n = int(array_bytes // 8)
    a = np.ones(n, dtype=np.float64)
    b = np.zeros(n, dtype=np.float64)
    bounds = np.linspace(0, n, nthreads + 1).astype(int)

    def copy_parallel() -> None:
        def part(i: int) -> None:
            np.copyto(b[bounds[i] : bounds[i + 1]], a[bounds[i] : bounds[i + 1]])

        ts = [threading.Thread(target=part, args=(i,)) for i in range(nthreads)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()

    rate = _best_rate(copy_parallel, 2.0 * n * 8, repeats=repeats, budget_s=10.0)
    return ProbeResult(
        "stream_copy",
        rate,
        "B/s",
        {"array_bytes": n * 8, "threads": nthreads, "counted": "read a + write b (STREAM)"},
    )


FLOP_PER_CYCLE_FP32 = {
    # two FMA pipes x lanes x 2 FLOP: AVX-512 16 lanes, AVX2 8 lanes (upper bounds; Zen 4
    # executes 512-bit ops in two halves, so its real figure is half the AVX-512 one)
    "avx512f": 64.0,
    "avx2": 32.0,
}


def derived_fp32_peak(fp: dict[str, Any]) -> dict[str, Any]:
    """``cores x clock x FLOP/cycle`` from the fingerprint, labelled as an upper bound."""
    flags = set(fp.get("cpu_flags", []))
    per_cycle = next((v for k, v in FLOP_PER_CYCLE_FP32.items() if k in flags), 16.0)
    mhz = fp.get("cpu_mhz_reported")
    cores = fp.get("affinity_cpus") or fp.get("physical_cores") or 1
    if not mhz:
        return {"flops_per_s": None, "basis": "no clock reported"}
    return {
        "flops_per_s": cores * mhz * MEGA * per_cycle,
        "basis": f"{cores} cores x {mhz:.0f} MHz (reported, not boost) x {per_cycle:.0f} FLOP/cycle",
    }
