"""Pure pieces of the bench: CPU fingerprint parsing, GPU name matching, option parsing,
storage-probe bounds, timing statistics."""

from __future__ import annotations

import pytest

from aidc.bench.device import match_gpu
from aidc.bench.engines import EngineSpec, parse_engine_specs, unsupported_reason
from aidc.bench.fingerprint import _cpuinfo, cpu_device_id
from aidc.bench.storage import probe_directory
from aidc.bench.timing import Clock, RepeatPolicy, repeat, stats
from aidc.catalog.loader import load_catalog
from aidc.errors import AidcInputError
from aidc.units import GiB, MiB

CPUINFO = """processor\t: 0
vendor_id\t: GenuineIntel
model name\t: Intel(R) Xeon(R) Platinum 8480+
physical id\t: 0
core id\t\t: 0
cpu MHz\t\t: 2000.000
flags\t\t: fpu avx2 fma avx512f avx512_vnni amx_tile amx_bf16 amx_int8

processor\t: 1
vendor_id\t: GenuineIntel
model name\t: Intel(R) Xeon(R) Platinum 8480+
physical id\t: 0
core id\t\t: 0
flags\t\t: fpu avx2 fma avx512f avx512_vnni amx_tile amx_bf16 amx_int8

processor\t: 2
vendor_id\t: GenuineIntel
model name\t: Intel(R) Xeon(R) Platinum 8480+
physical id\t: 1
core id\t\t: 0
flags\t\t: fpu avx2 fma avx512f avx512_vnni amx_tile amx_bf16 amx_int8
"""


def test_cpuinfo_counts_cores_sockets_and_flags():
    fp = _cpuinfo(CPUINFO)
    assert fp["logical_cpus"] == 3
    assert fp["physical_cores"] == 2  # two hyper-threads of core 0 on socket 0
    assert fp["sockets"] == 2
    assert {"amx_int8", "avx512_vnni", "fma"} <= set(fp["cpu_flags"])
    assert fp["cpu_mhz_reported"] == 2000.0
    assert cpu_device_id(fp, 4) == "cpu-intel-r-xeon-r-platinum-8480-4t"


@pytest.mark.parametrize(
    "name, memory_mib, expected",
    [  # NVML's total memory (nvidia-smi --query-gpu=memory.total, MiB)
        ("NVIDIA H200", 143771, "H200-SXM"),
        ("NVIDIA H200 NVL", 143771, "H200-NVL"),
        ("NVIDIA H100 80GB HBM3", 81559, "H100-SXM"),
        ("NVIDIA H100 PCIe", 81559, "H100-PCIe"),
        ("NVIDIA A100-SXM4-80GB", 81920, "A100-SXM-80GB"),
        ("NVIDIA A100-SXM4-40GB", 40960, "A100-SXM-40GB"),
        ("Tesla T4", 15360, "T4"),
        ("NVIDIA GH200 480GB", 97871, None),
    ],
)
def test_nvml_names_match_catalog_accelerators(name, memory_mib, expected):
    assert match_gpu(name, load_catalog(), memory_mib * MiB) == expected


def test_catalog_device_memory_is_binary_gib():
    """Vendors' 'GB' of HBM are binary: an A100-80GB reports 81920 MiB = 80 GiB."""
    a100 = {a.id: a for a in load_catalog().accelerators}["A100-SXM-80GB"]
    assert a100.memory_bytes == 80 * GiB


def test_engine_specs_parse_and_refuse():
    assert parse_engine_specs("pytorch, onnxruntime:int8") == [
        EngineSpec("pytorch", "fp32"),
        EngineSpec("onnxruntime", "int8"),
    ]
    with pytest.raises(AidcInputError, match="allowed: pytorch"):
        parse_engine_specs("tensorflow:fp32")
    with pytest.raises(AidcInputError, match="no precision 'int4'"):
        parse_engine_specs("onnxruntime:int4")
    assert "encoders only" in unsupported_reason(
        EngineSpec("onnxruntime", "fp32"), "decoder", "cpu"
    )
    assert "GPU" in unsupported_reason(EngineSpec("pytorch", "fp16"), "encoder", "cpu")
    assert unsupported_reason(EngineSpec("pytorch", "bf16"), "decoder", "cpu") is None


def test_storage_probe_is_bounded_and_refuses_bad_dirs(tmp_path):
    r = probe_directory(tmp_path, size_bytes=8 << 20, block_bytes=1 << 20, max_seconds=0.0)
    assert r.truncated_by_time and 0 < r.bytes_written < 8 << 20
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(AidcInputError, match="not a directory"):
        probe_directory(tmp_path / "missing")
    with pytest.raises(AidcInputError, match="free"):
        probe_directory(tmp_path, size_bytes=1 << 62)


def test_repeat_policy_and_statistics():
    calls = []
    st = repeat(lambda: calls.append(1), RepeatPolicy(warmup=2, min_runs=4, max_runs=4), Clock())
    assert len(calls) == 6 and st.n_runs == 4 and st.n_warmup == 2
    assert len(st.cpu_samples_s) == 4
    s = stats([1.0, 2.0, 3.0, 4.0], 0, [0.5, 0.5, 0.5, 0.5])
    assert s.p50_s == 2.5 and s.min_s == 1.0 and s.mean_s == 2.5
    assert s.p99_s == pytest.approx(3.97)
    assert s.cpu_time_stats() == {
        "cpu_time_p50_s": 0.5,
        "cpu_time_mean_s": 0.5,
        "cpu_time_min_s": 0.5,
    }
