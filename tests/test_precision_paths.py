"""Each part runs only the formats it lists; serving auto-precisions follow the part."""

from aidc.catalog.loader import load_catalog
from aidc.catalog.schema import Precision
from aidc.planner.inference import DEFAULT_PRECISIONS, auto_precisions

CAT = load_catalog()


def test_fp16_and_bf16_are_not_interchangeable():
    t4 = CAT.accelerators.get("T4")
    assert t4.peak_for(Precision.FP16) is not None
    assert t4.peak_for(Precision.BF16) is None  # Turing has no bf16
    v5e = CAT.accelerators.get("TPU-v5e")
    assert v5e.peak_for(Precision.BF16) is not None
    assert v5e.peak_for(Precision.FP16) is None  # TPUs have no fp16


def test_auto_precisions_follow_the_part():
    assert auto_precisions(CAT.accelerators.get("H100-SXM")) == list(DEFAULT_PRECISIONS)
    t4 = auto_precisions(CAT.accelerators.get("T4"))
    assert "fp16" in t4 and "bf16" not in t4
    cpu = auto_precisions(CAT.accelerators.get("CPU-Xeon-8260"))
    assert "fp32" in cpu and "bf16" not in cpu and "int8" in cpu


def test_training_leaves_out_inference_only_and_unsold_parts():
    from aidc.search.prune import accelerator_screen
    from aidc.spec.scenario import Constraints

    keep, pruned = accelerator_screen(CAT, Constraints(), Precision.BF16, "training")
    kept = {a.id for a in keep}
    why = {p.subject: p.constraint for p in pruned}
    assert "Inferentia2" not in kept and why["Inferentia2"] == "role"
    assert "CPU-Xeon-8480+" not in kept and why["CPU-Xeon-8480+"] == "role"
    assert why["H100-SXM-96GB-500W"] == "availability"
    assert {"H100-SXM", "TPU-v5p", "Trainium2"} <= kept
    serving, _ = accelerator_screen(CAT, Constraints(), None, "inference")
    assert {"Inferentia2", "CPU-Xeon-8260"} <= {a.id for a in serving}


def test_baseboard_parts_are_bought_in_whole_boards():
    from aidc.planner.infrastructure import purchased_devices

    acc = CAT.accelerators.get
    assert purchased_devices(acc("H100-SXM"), 2) == 8
    assert purchased_devices(acc("MI300X"), 9) == 16
    assert purchased_devices(acc("GB200"), 3) == 4
    assert purchased_devices(acc("H100-PCIe"), 2) == 2
    assert purchased_devices(acc("CPU-Xeon-8260"), 3) == 3
    assert purchased_devices(acc("H100-SXM"), 0) == 0


def test_llm_engines_are_not_offered_for_extractive_qa():
    from aidc.planner.inference import engines_for
    from aidc.spec.scenario import InferenceService

    ctx = type("Ctx", (), {"catalog": CAT})()
    svc = {
        "name": "q",
        "model": "bert-base",
        "traffic": {"peak_rps": 1, "input_tokens": {"mean": 128}},
        "slo": {"p99_latency_ms": 100},
    }
    h100 = CAT.accelerators.get("H100-SXM")
    qa = {e.id for e in engines_for(ctx, InferenceService(task="qa", **svc), h100, "encoder")}
    emb = {
        e.id for e in engines_for(ctx, InferenceService(task="embedding", **svc), h100, "encoder")
    }
    assert "vllm" not in qa and "tensorrt-llm" in qa and "triton" in qa
    assert "vllm" in emb
