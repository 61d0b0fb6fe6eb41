"""Copy the measured custom (in-engine) all-reduce latencies that aiconfigurator-core
ships into a small CSV, beside the NCCL ones (``extract_nccl_reference.py``).

Provenance script, run once by hand (it needs pandas + pyarrow, which aidc does not
depend on). It reads data files only; no aiconfigurator code is used or copied.

    /tmp/aicvenv/bin/python benchmarks/extract_custom_allreduce_reference.py /tmp/aicx \
        > data/reference/nccl/aiconfigurator_custom_allreduce.csv

(``/tmp/aicx`` is the unpacked aiconfigurator-core 0.12.0 wheel, as in
``extract_nccl_reference.py``.) Kept: the ``all_reduce`` rows of
``comm/<framework>/<version>/custom_allreduce_perf.parquet`` for the newest version
collected per system: TensorRT-LLM's custom kernels (AllReduceStrategy AUTO's one-/two-shot
IPC kernels) and vLLM's CustomAllreduce under CUDA graphs (backend ``vllm_graph``, the
serving path; the eager rows are dropped), as published (``message_size`` in elements of
bfloat16, ``latency`` in milliseconds).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

# (framework directory, system) -> version kept (the newest one collected for it)
VERSIONS = {
    "trtllm": {
        "a100_sxm": "1.0.0",
        "h100_sxm": "1.3.0rc20",
        "h200_sxm": "1.3.0rc20",
        "b200_sxm": "1.3.0rc20",
        "b300_sxm": "1.3.0rc20",
        "gb200": "1.3.0rc20",
        "gb300": "1.3.0rc20",
        "l40s": "1.3.0rc20",
        "rtx_pro_6000_server": "1.3.0rc20",
    },
    "vllm": {
        "a100_sxm": "0.14.0",
        "h100_sxm": "0.24.0",
        "h200_sxm": "0.24.0",
        "b200_sxm": "0.24.0",
        "b300_sxm": "0.24.0",
        "gb200": "0.24.0",
        "gb300": "0.27.0",
        "l40s": "0.22.0",
        "rtx_pro_6000_server": "0.24.0",
    },
}
COLUMNS = [
    "system",
    "device",
    "framework",
    "version",
    "op_name",
    "allreduce_dtype",
    "num_gpus",
    "message_size",
    "latency",
]


def main(root: Path) -> None:
    frames = []
    for framework, systems in VERSIONS.items():
        for system, version in systems.items():
            path = root / "aiconfigurator_core/systems/data" / system / "comm" / framework / version
            d = pd.read_parquet(path / "custom_allreduce_perf.parquet")
            d = d[d["op_name"] == "all_reduce"]
            if "backend" in d.columns:
                d = d[d["backend"] == "vllm_graph"]
            d = d.assign(system=system, framework=framework, version=version)
            frames.append(d[COLUMNS])
    out = pd.concat(frames).sort_values(["framework", "system", "num_gpus", "message_size"])
    out.to_csv(sys.stdout, index=False)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
