"""Run NVIDIA aiconfigurator on configurations read as JSON from stdin; print JSON results.

Runs under aiconfigurator's own virtual environment (not a dependency of aidc):

    python3 -m venv /tmp/aic-venv && /tmp/aic-venv/bin/pip install aiconfigurator
    echo '[{"id": "r1", "model_path": "meta-llama/Meta-Llama-3.1-70B", ...}]' \
        | /tmp/aic-venv/bin/python benchmarks/aiconfigurator_runner.py

Each input item: id, model_path, system, isl, osl, batch, tp, pp, gemm, kv, moe (quant
modes) and optionally attention_dp, moe_ep. Output: {id: {"output_tokens_per_s",
"ttft_s", "tpot_s"} or {"error": "..."}}. Uses aiconfigurator's `cli_estimate` (agg
mode, measured-kernel database) in one process so its database loads once.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import sys
import warnings


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
            if it.get("moe_ep"):
                kwargs["moe_ep_size"] = int(it["moe_ep"])
                kwargs["moe_tp_size"] = 1
            if it.get("attention_dp"):
                kwargs["attention_dp_size"] = int(it["attention_dp"])
                kwargs["tp_size"] = 1
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
                }
            except Exception as err:  # report, never crash the comparison
                cache[key] = {
                    "error": f"{type(err).__name__}: {str(err).splitlines()[0][:200] if str(err) else ''}"
                }
        out[it["id"]] = cache[key]
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
