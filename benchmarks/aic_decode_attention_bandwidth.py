"""Decode (generation) attention kernels: the share of HBM bandwidth they stream the KV
cache at, by grouped-query group size and KV-cache format.

Evidence that a decode step reads its KV cache at the device's measured weight-streaming
bandwidth (``streaming_bw_efficiency`` in ``kernel_efficiency.yaml``): the serving fit
takes that measurement as a device fact at every level, engines and formats included
(:data:`aidc.validation.inference_fit.FIT_MEASURED_BW`). Reads aiconfigurator-core's
measured TensorRT-LLM generation-attention table (XQA and masked-MHA kernels, its package
data; run with an interpreter that has ``aiconfigurator_core`` and pandas installed)::

    /tmp/aic-venv/bin/python benchmarks/aic_decode_attention_bandwidth.py [SYSTEM] [HBM_TB_S]

Rows: full attention (no sliding window), head dim 128, at least 0.2 GB of K/V read per
call; bytes = batch x context x 2 x KV heads x 128 x bytes per element. Printed: quartiles
of bytes / latency / the HBM peak, by KV-cache format and query heads per KV head.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd  # type: ignore[import-untyped]

KV_BYTES = {"bfloat16": 2.0, "float16": 2.0, "fp8": 1.0}
MIN_BYTES = 2e8


def main() -> int:
    import aiconfigurator_core  # type: ignore[import-not-found]

    system = sys.argv[1] if len(sys.argv) > 1 else "h100_sxm"
    hbm_tb_s = float(sys.argv[2]) if len(sys.argv) > 2 else 3.35  # H100 SXM (catalog)
    root = Path(aiconfigurator_core.__file__).parent / "systems/data" / system
    path = next((root / "attention/trtllm").glob("*/generation_attention_perf.parquet"))
    d = pd.read_parquet(path)
    d = d[(d.window_size == 0) & (d.head_dim == 128) & d.kv_cache_dtype.isin(list(KV_BYTES))]
    kv = d.kv_cache_dtype.map(KV_BYTES)
    d = d.assign(
        bytes=d.batch_size * d.step * 2 * d.num_key_value_heads * d.head_dim * kv,
        group=d.num_heads // d.num_key_value_heads,
    )
    d = d[d.bytes >= MIN_BYTES]
    d = d.assign(share=d.bytes / (d.latency * 1e-3) / (hbm_tb_s * 1e12))
    print(
        f"{path.relative_to(root.parent)}: {len(d)} calls with >= {MIN_BYTES / 1e9:.1f} GB of K/V"
    )
    q = d.groupby(["kv_cache_dtype", "group"]).share.describe()[["count", "25%", "50%", "75%"]]
    print(q.round(3).to_string())
    return 0


if __name__ == "__main__":
    sys.exit(main())
