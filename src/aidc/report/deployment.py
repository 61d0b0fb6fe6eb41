"""Step 5 of the selection process: how to deploy the chosen design and what to watch.

:func:`build_deployment` turns a plan document (``PlanResult.to_dict()``) into plain
data: per training workload the parallel plan and a launch command for the framework;
per service the serving engine's settings and command line, the replica count and a
least-connections load-balancer upstream; and the monitoring metrics with the
thresholds that should trigger re-planning. It is pure (no I/O, no clock); every
number comes from the plan, and where the plan lacks one the output says so.

Command lines use the engines' documented flags (vLLM ``vllm serve``, TensorRT-LLM
``trtllm-serve``, SGLang ``sglang.launch_server``, TGI ``text-generation-launcher``,
Megatron-LM ``pretrain_gpt.py`` under ``torchrun``). Weights paths and host names are
the user's: they appear as shell variables (``$MODEL_DIR``) and ``<host>`` names.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from aidc.report.view import Plan, Workload, chosen, metric, workloads

DEPLOYMENT_SCHEMA_VERSION = 1

SERVE_PORT = 8000
"""The port every serving command listens on (vLLM's and TensorRT-LLM's default)."""


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


# ----------------------------------------------------------------------------- training


def _megatron_args(p: Mapping[str, Any], req: Mapping[str, Any]) -> list[str]:
    """Megatron-LM arguments for the plan (names as in Megatron-LM's arguments.py)."""
    args = [
        f"--tensor-model-parallel-size {p['tp']}",
        f"--pipeline-model-parallel-size {p['pp']}",
        f"--micro-batch-size {p['micro_batch']}",
        f"--global-batch-size {p['micro_batch'] * p['dp'] * p.get('grad_accum', 1)}",
    ]
    if req.get("seq_len"):
        args.append(f"--seq-length {int(req['seq_len'])}")
        if req.get("tokens"):
            args.append(f"--train-samples {math.ceil(req['tokens'] / req['seq_len'])}")
    if p.get("tp", 1) > 1:
        args.append("--sequence-parallel")
    prec = p.get("precision")
    if prec == "bf16":
        args.append("--bf16")
    elif prec == "fp16":
        args.append("--fp16")
    elif prec == "fp8":
        args += ["--bf16", "--fp8-format hybrid"]
    zero = int(p.get("zero_stage", 0))
    if zero == 1:
        args.append("--use-distributed-optimizer")
    elif zero in (2, 3):
        strategy = "optim_grads" if zero == 2 else "optim_grads_params"
        args += [
            "--use-megatron-fsdp",
            f"--data-parallel-sharding-strategy {strategy}",
            "--use-distributed-optimizer",
        ]
    rc = p.get("recompute")
    if rc == "selective":
        args.append("--recompute-granularity selective")
    elif rc == "full":
        args += [
            "--recompute-granularity full",
            "--recompute-method uniform",
            "--recompute-num-layers 1",
        ]
    return args


def _training_entry(
    w: Workload, accelerators: Mapping[str, Mapping[str, Any]]
) -> dict[str, Any] | None:
    ch = chosen(w)
    if ch is None:
        return None
    p = dict(ch.get("plan") or {})
    req = w.get("requirements") or {}
    n = int(ch.get("n_devices") or 0)
    facts = accelerators.get(str(ch.get("accelerator")), {})
    per_node = facts.get("devices_per_node")
    notes: list[str] = []
    if not per_node:
        per_node = min(n, 8) or 1
        notes.append(
            f"devices per node: {per_node} assumed (the accelerator is not in the catalog)"
        )
    nproc = min(int(per_node), n) if n else int(per_node)
    nodes = _ceil_div(n, nproc) if n else 0
    framework = str(p.get("framework", "pytorch"))
    parallel = {
        k: p.get(k)
        for k in (
            "tp",
            "pp",
            "dp",
            "micro_batch",
            "grad_accum",
            "zero_stage",
            "recompute",
            "precision",
            "optimizer",
            "deployment",
        )
        if k in p
    }
    if all(k in p for k in ("micro_batch", "dp")):
        parallel["global_batch_seqs"] = p["micro_batch"] * p["dp"] * p.get("grad_accum", 1)
    if framework == "jax":
        settings = {
            "ici_tensor_parallelism": p.get("tp"),
            "ici_pipeline_parallelism": p.get("pp"),
            (
                "ici_fsdp_parallelism" if p.get("zero_stage", 0) >= 1 else "ici_data_parallelism"
            ): p.get("dp"),
            "per_device_batch_size": p.get("micro_batch"),
            "gradient_accumulation_steps": p.get("grad_accum"),
            "remat_policy": {"none": "minimal", "selective": "save_qkv_proj", "full": "full"}.get(
                str(p.get("recompute")), "full"
            ),
            "max_target_length": req.get("seq_len"),
        }
        command = "python3 -m MaxText.train MaxText/configs/base.yml run_name=$RUN_NAME \\\n  " + (
            " \\\n  ".join(f"{k}={v}" for k, v in settings.items() if v is not None)
        )
        launcher = "MaxText (JAX) config overrides"
        notes.append("multi-host TPU slices: run the same command on every host of the slice")
    else:
        args = (
            _megatron_args(p, req) if all(k in p for k in ("tp", "pp", "dp", "micro_batch")) else []
        )
        command = (
            f"torchrun --nnodes {nodes} --nproc-per-node {nproc} \\\n"
            "  --rdzv-backend c10d --rdzv-endpoint $MASTER_ADDR:29500 \\\n"
            "  pretrain_gpt.py \\\n  " + " \\\n  ".join(args)
        )
        launcher = "Megatron-LM under torchrun"
        vendor = facts.get("vendor")
        if vendor and vendor != "NVIDIA":
            notes.append(
                f"{vendor} devices: use the vendor's port of Megatron-LM (same argument names "
                "where the feature exists; check its README)"
            )
        if p.get("zero_stage", 0) in (2, 3) and p.get("tp", 1) == 1 and p.get("pp", 1) == 1:
            notes.append(
                "plain PyTorch FSDP2 (fully_shard, "
                + (
                    "reshard_after_forward=True"
                    if p.get("zero_stage") == 3
                    else "reshard_after_forward=False"
                )
                + ") under the same torchrun line is the equivalent outside Megatron-LM"
            )
    return {
        "workload": w.get("workload"),
        "model": w.get("model"),
        "accelerator": ch.get("accelerator"),
        "n_devices": n,
        "nodes": nodes,
        "devices_per_node": nproc,
        "framework": framework,
        "launcher": launcher,
        "parallel_plan": parallel,
        "command": command,
        "notes": notes,
    }


# ----------------------------------------------------------------------------- serving

_VLLM_PRECISION = {
    "bf16": ["--dtype bfloat16"],
    "fp16": ["--dtype float16"],
    "fp32": ["--dtype float32"],
    "tf32": ["--dtype float32"],
    "fp8": ["--quantization fp8", "--kv-cache-dtype fp8"],
    "int4-weight-only": ["--quantization awq"],
}
_CHECKPOINT_NOTES = {
    "int8": "int8 (W8A8): serve a pre-quantized W8A8 checkpoint; the engine reads the scheme "
    "from its config",
    "int8-weight-only": "int8 weight-only (W8A16): serve a pre-quantized checkpoint; the engine "
    "reads the scheme from its config",
    "int4-weight-only": "int4 weight-only: serve an AWQ (or GPTQ, then --quantization gptq) "
    "checkpoint",
    "fp4": "fp4: serve a pre-quantized FP4 (e.g. NVFP4) checkpoint",
}


def _serve_command(engine: str, precision: str, tp: int, batch: int | None) -> tuple[str, str]:
    """(command, engine label) for one replica."""
    e = engine.lower()
    if e == "vllm":
        args = ["vllm serve $MODEL_DIR", f"--tensor-parallel-size {tp}"]
        if batch:
            args.append(f"--max-num-seqs {batch}")
        args += _VLLM_PRECISION.get(precision, [])
        args.append(f"--port {SERVE_PORT}")
        return " \\\n  ".join(args), "vLLM"
    if e == "tensorrt-llm":
        args = ["trtllm-serve $MODEL_DIR", f"--tp_size {tp}"]
        if batch:
            args.append(f"--max_batch_size {batch}")
        args += ["--host 0.0.0.0", f"--port {SERVE_PORT}"]
        return " \\\n  ".join(args), "TensorRT-LLM"
    if e == "sglang":
        args = ["python3 -m sglang.launch_server --model-path $MODEL_DIR", f"--tp {tp}"]
        if batch:
            args.append(f"--max-running-requests {batch}")
        if precision == "fp8":
            args.append("--quantization fp8")
        args += ["--host 0.0.0.0", f"--port {SERVE_PORT}"]
        return " \\\n  ".join(args), "SGLang"
    if e == "tgi":
        args = ["text-generation-launcher --model-id $MODEL_DIR", f"--num-shard {tp}"]
        if batch:
            args.append(f"--max-batch-size {batch}")
        if precision == "fp8":
            args.append("--quantize fp8")
        args.append(f"--port {SERVE_PORT}")
        return " \\\n  ".join(args), "Text Generation Inference"
    return "", engine


def _upstream(service: str, replicas: int) -> str:
    """An nginx upstream sketch with least-connections balancing over the replicas."""
    name = "".join(c if c.isalnum() else "_" for c in service) or "service"
    lines = [f"upstream {name} {{", "    least_conn;"]
    for i in range(replicas):
        lines.append(
            f"    server <{name}-replica-{i}-host>:{SERVE_PORT} max_fails=3 fail_timeout=30s;"
        )
    lines += [
        "}",
        "server {",
        "    listen 443 ssl;",
        f"    ssl_certificate     <path-to-{name}.crt>;",
        f"    ssl_certificate_key <path-to-{name}.key>;",
        f"    location / {{ proxy_pass http://{name}; proxy_read_timeout 300s; }}",
        "}",
    ]
    return "\n".join(lines)


def _serving_entry(w: Workload) -> dict[str, Any] | None:
    ch = chosen(w)
    if ch is None:
        return None
    p = ch.get("plan") or {}
    engine = str(p.get("engine", "?"))
    precision = str(p.get("precision", "?"))
    tp = int(p.get("tp", 1) or 1)
    batch = p.get("batch")
    replicas = int(p.get("replicas", 0) or 0)
    command, label = _serve_command(engine, precision, tp, batch)
    notes = []
    if precision in _CHECKPOINT_NOTES:
        notes.append(_CHECKPOINT_NOTES[precision])
    if not command:
        notes.append(
            f"no command template for {engine}: configure it with the settings above "
            "(tensor parallel size, max batch, precision)"
        )
    return {
        "service": w.get("workload"),
        "model": w.get("model"),
        "accelerator": ch.get("accelerator"),
        "engine": engine,
        "engine_label": label,
        "precision": precision,
        "tensor_parallel": tp,
        "max_batch": batch,
        "replicas": replicas,
        "devices": ch.get("n_devices"),
        "deployment": p.get("deployment"),
        "command": command,
        "load_balancer": _upstream(str(w.get("workload", "service")), replicas),
        "notes": notes,
    }


# ----------------------------------------------------------------------------- monitoring


def _watch(
    workload: Any,
    what: str,
    source: str,
    unit_metric: str,
    planned: float | None,
    op: str | None = None,
    threshold: float | None = None,
    why: str = "",
) -> dict[str, Any]:
    return {
        "workload": workload,
        "what": what,
        "source": source,
        "unit_metric": unit_metric,
        "planned": planned,
        "replan_if": {"op": op, "value": threshold} if op and threshold is not None else None,
        "why": why,
    }


def _monitoring(plan: Plan) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for w in workloads(plan):
        ch = chosen(w)
        if ch is None:
            continue
        name = w.get("workload")
        req = w.get("requirements") or {}
        if w.get("kind") == "training":
            tps = metric(ch, "tokens_per_s")
            deadline = req.get("deadline_s")
            tokens = req.get("tokens")
            need = tokens / deadline if deadline and tokens else None
            rows.append(
                _watch(
                    name,
                    "training throughput",
                    "tokens per iteration / iteration time (training log)",
                    "tokens_per_s",
                    tps,
                    "<" if need else None,
                    need,
                    "below this rate the run misses its deadline"
                    if need
                    else "no deadline: a shortfall means recalibrating (aidc calibrate), not re-planning",
                )
            )
            rows.append(
                _watch(
                    name,
                    "iteration time",
                    "training log",
                    "step_time_s",
                    metric(ch, "step_time_s"),
                    why="a rise beyond the plan points at the network or stragglers",
                )
            )
            mem, cap = metric(ch, "memory_per_device_bytes"), metric(ch, "device_memory_bytes")
            rows.append(
                _watch(
                    name,
                    "peak device memory",
                    "torch.cuda.max_memory_allocated / DCGM_FI_DEV_FB_USED",
                    "memory_per_device_bytes",
                    mem,
                    ">" if cap else None,
                    cap,
                    "at the device's capacity the plan's parallelism no longer fits",
                )
            )
        else:
            slo = {
                "ttft_p99_s": req.get("slo_ttft_p99_s"),
                "tpot_p99_s": req.get("slo_tpot_p99_s"),
                "p99_latency_s": req.get("slo_p99_latency_s"),
            }
            engine = str((ch.get("plan") or {}).get("engine", "")).lower()
            sources = {
                "ttft_p99_s": "vllm:time_to_first_token_seconds (p99)"
                if engine == "vllm"
                else "time to first token, p99",
                "tpot_p99_s": "vllm:time_per_output_token_seconds (p99)"
                if engine == "vllm"
                else "time per output token, p99",
                "p99_latency_s": "vllm:e2e_request_latency_seconds (p99)"
                if engine == "vllm"
                else "request latency, p99",
            }
            for key, label in (
                ("ttft_p99_s", "time to first token p99"),
                ("tpot_p99_s", "time per output token p99"),
                ("p99_latency_s", "request latency p99"),
            ):
                planned = metric(ch, key)
                if planned is None and slo[key] is None:
                    continue
                rows.append(
                    _watch(
                        name,
                        label,
                        sources[key],
                        key,
                        planned,
                        ">" if slo[key] else None,
                        slo[key],
                        "the SLO is violated" if slo[key] else "",
                    )
                )
            peak = req.get("peak_rps")
            rows.append(
                _watch(
                    name,
                    "request rate",
                    "load balancer request rate (nginx) or the engine's request counter",
                    "rps",
                    peak,
                    ">" if peak else None,
                    peak,
                    "traffic above the planned peak eats the replicas' headroom",
                )
            )
            if engine == "vllm":
                rows.append(
                    _watch(
                        name,
                        "requests waiting",
                        "vllm:num_requests_waiting",
                        "count",
                        None,
                        why="a queue that keeps growing means the batch or replica count is too small",
                    )
                )
        power = metric(ch, "facility_power_w")
        rows.append(
            _watch(
                name,
                "facility power of the pool",
                "DCGM_FI_DEV_POWER_USAGE summed over the pool x PUE",
                "facility_power_w",
                power,
            )
        )
    dc = plan.get("datacenter") or {}
    for check in dc.get("constraint_checks", []) or []:
        if check.get("constraint") == "power_kw" and check.get("limit") is not None:
            rows.append(
                _watch(
                    "data center",
                    "facility power",
                    "facility meter",
                    "facility_power_w",
                    (check.get("value") or 0.0) * 1e3,
                    ">",
                    check["limit"] * 1e3,
                    "over the power envelope",
                )
            )
    return rows


def build_deployment(
    plan: Plan, accelerators: Mapping[str, Mapping[str, Any]] | None = None
) -> dict[str, Any]:
    """The deployment and monitoring plan for the chosen designs of ``plan``.

    ``accelerators`` maps accelerator id to catalog facts used for the layout
    (``devices_per_node``, ``vendor``); without it the devices per node are assumed
    and the output says so.
    """
    accelerators = accelerators or {}
    training, serving = [], []
    for w in workloads(plan):
        if w.get("kind") == "training":
            entry = _training_entry(w, accelerators)
            if entry:
                training.append(entry)
        elif w.get("kind") == "inference":
            entry = _serving_entry(w)
            if entry:
                serving.append(entry)
    return {
        "deployment_schema_version": DEPLOYMENT_SCHEMA_VERSION,
        "scenario": plan.get("scenario"),
        "training": training,
        "serving": serving,
        "monitoring": _monitoring(plan),
        "not_deployed": [w.get("workload") for w in workloads(plan) if chosen(w) is None],
    }
