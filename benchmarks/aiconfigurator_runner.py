"""Run NVIDIA aiconfigurator on configurations read as JSON from stdin; print JSON results.

Runs under aiconfigurator's own virtual environment (not a dependency of aidc):

    python3 -m venv /tmp/aic-venv && /tmp/aic-venv/bin/pip install aiconfigurator
    echo '[{"id": "r1", "model_path": "meta-llama/Meta-Llama-3.1-70B", ...}]' \
        | /tmp/aic-venv/bin/python benchmarks/aiconfigurator_runner.py

Each input item: id, model_path, system, isl, osl, batch, tp, pp, gemm, kv, moe (quant
modes) and optionally attention_dp, moe_ep. Output: {id: {"output_tokens_per_s",
"ttft_s", "tpot_s", "batch"} or {"error": "..."}} (on an out-of-memory answer the batch is
halved, up to six times, as a user would). Uses aiconfigurator's `cli_estimate` (agg
mode, measured-kernel database) in one process so its database loads once.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import sys
import warnings

MAX_HALVINGS = 6


def main() -> None:
    warnings.filterwarnings("ignore")
    logging.disable(logging.CRITICAL)
    from aiconfigurator.cli.api import cli_estimate

    items = json.load(sys.stdin)
    out: dict[str, dict[str, object]] = {}
    cache: dict[str, dict[str, object]] = {}
    for it in items:
        key = json.dumps({k: v for k, v in it.items() if k != "id"}, sort_keys=True)
        if key not in cache:
            kwargs = dict(
                model_path=it["model_path"],
                system_name=it["system"],
                mode="agg",
                backend_name="trtllm",
                isl=int(it["isl"]),
                osl=int(it["osl"]),
                batch_size=int(it["batch"]),
                tp_size=int(it["tp"]),
                pp_size=int(it["pp"]),
                gemm_quant_mode=it["gemm"],
                kvcache_quant_mode=it["kv"],
            )
            if it.get("moe"):
                kwargs["moe_quant_mode"] = it["moe"]
            if it.get("moe"):
                kwargs["moe_ep_size"] = int(it.get("moe_ep") or 1)
                kwargs["moe_tp_size"] = 1
            if it.get("attention_dp"):
                kwargs["attention_dp_size"] = int(it["attention_dp"])
                kwargs["tp_size"] = 1
            # a user halves the batch until aiconfigurator's memory check passes
            for _ in range(MAX_HALVINGS + 1):
                try:
                    with (
                        contextlib.redirect_stdout(io.StringIO()),
                        contextlib.redirect_stderr(io.StringIO()),
                    ):
                        r = cli_estimate(**kwargs)
                    cache[key] = {
                        "output_tokens_per_s": float(r.tokens_per_second),
                        "ttft_s": float(r.ttft) / 1e3,
                        "tpot_s": float(r.tpot) / 1e3,
                        "batch": int(kwargs["batch_size"]),
                    }
                    break
                except Exception as err:  # report, never crash the comparison
                    first = str(err).splitlines()[0][:200] if str(err) else ""
                    cache[key] = {"error": f"{type(err).__name__}: {first}"}
                    if "OOM" not in first or kwargs["batch_size"] <= 1:
                        break
                    kwargs["batch_size"] = max(1, kwargs["batch_size"] // 2)
        out[it["id"]] = cache[key]
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
