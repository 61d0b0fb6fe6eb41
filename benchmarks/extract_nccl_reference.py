"""Copy the measured NCCL latencies that aiconfigurator-core ships into a small CSV.

Provenance script, run once by hand (it needs pandas + pyarrow, which aidc does not
depend on). It reads data files only; no aiconfigurator code is used or copied.

    python3 -m venv /tmp/aicvenv
    /tmp/aicvenv/bin/pip download --no-deps aiconfigurator-core==0.12.0 -d /tmp/aicdl
    mkdir -p /tmp/aicx && (cd /tmp/aicx && unzip -q -o /tmp/aicdl/*.whl)
    /tmp/aicvenv/bin/pip install pandas pyarrow
    /tmp/aicvenv/bin/python benchmarks/extract_nccl_reference.py /tmp/aicx \
        > data/reference/nccl/aiconfigurator_nccl.csv

Kept: fp16 ("half") rows of the newest NCCL version collected per system, as published
(``message_size`` is in elements, ``latency`` in milliseconds; see the README beside the CSV).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

# system directory -> NCCL version kept (the newest one collected for it)
SYSTEMS = {
    "a100_sxm": "2.27.3",
    "h100_sxm": "2.29.2",
    "h200_sxm": "2.29.2",
    "b200_sxm": "2.29.2",
    "b300_sxm": "2.29.2",
    "gb200": "2.29.2",
    "gb300": "2.29.2",
    "l40s": "2.27.3",
    "rtx_pro_6000_server": "2.29.2",
}


def main(root: Path) -> None:
    frames = []
    for system, version in SYSTEMS.items():
        path = root / "aiconfigurator_core/systems/data" / system / "comm/nccl" / version
        d = pd.read_parquet(path / "nccl_perf.parquet")
        d = d[d["nccl_dtype"] == "half"]
        d = d.assign(system=system, nccl_version=version)
        frames.append(
            d[
                [
                    "system",
                    "device",
                    "nccl_version",
                    "op_name",
                    "nccl_dtype",
                    "num_gpus",
                    "message_size",
                    "latency",
                ]
            ]
        )
    out = pd.concat(frames).sort_values(["system", "op_name", "num_gpus", "message_size"])
    out.to_csv(sys.stdout, index=False)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
