"""Run llm-analysis (PyPI ``llm-analysis``, not an aidc dependency) on training configs.

Executed by ``benchmarks/training_validation.py`` with the Python of a separate virtual
environment where llm-analysis is installed:

    python3 -m venv /tmp/lla-venv && /tmp/lla-venv/bin/pip install llm-analysis==0.2.2

Reads a JSON list of configurations on stdin, writes a JSON list of
``{"row_id", "tokens_per_s_per_gpu"}`` or ``{"row_id", "error"}`` on stdout. Each
configuration gives the model dimensions, llm-analysis's GPU name, the parallel plan and
the flops efficiency to assume (llm-analysis's own default is 1.0, i.e. peak).
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import sys
import tempfile
from pathlib import Path


def main() -> None:
    from llm_analysis.analysis import train

    logging.disable(logging.CRITICAL)
    configs = json.load(sys.stdin)
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        for cfg in configs:
            model_path = Path(tmp) / f"{cfg['row_id']}.json"
            model_path.write_text(json.dumps(cfg["model"]))
            try:
                with (
                    contextlib.redirect_stdout(io.StringIO()),
                    contextlib.redirect_stderr(io.StringIO()),
                ):
                    summary = train(
                        model_name=str(model_path),
                        gpu_name=cfg["gpu"],
                        dtype_name="w16a16e16",
                        log_level="CRITICAL",
                        batch_size_per_gpu=cfg["micro_batch"],
                        gradient_accumulation_steps=cfg["grad_accum"],
                        seq_len=cfg["seq_len"],
                        activation_recomputation=cfg["recompute"],
                        ds_zero=cfg["zero"],
                        tp_size=cfg["tp"],
                        pp_size=cfg["pp"],
                        total_num_gpus=cfg["n_gpus"],
                        flash_attn=cfg["flash_attn"],
                        mlp_gated_linear_units=cfg["gated"],
                        flops_efficiency=cfg["flops_efficiency"],
                    )
                tokens = cfg["micro_batch"] * cfg["grad_accum"] * cfg["dp"] * cfg["seq_len"]
                tps = tokens / summary["latency_per_iter"] / cfg["n_gpus"]
                out.append({"row_id": cfg["row_id"], "tokens_per_s_per_gpu": tps})
            except Exception as err:  # llm-analysis rejects some configs: report, go on
                out.append({"row_id": cfg["row_id"], "error": f"{type(err).__name__}: {err}"[:200]})
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
