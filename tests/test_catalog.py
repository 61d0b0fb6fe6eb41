"""The shipped catalog loads, every record has provenance, units are SI."""

from __future__ import annotations

import itertools
import re

import pytest

from aidc.catalog import Precision, load_catalog
from aidc.catalog.units_in_names import si_key, to_si
from aidc.errors import UnknownNameError


@pytest.fixture(scope="module")
def cat():
    return load_catalog()


def test_every_record_has_source_and_provenance(cat):
    for kind, table in cat.tables().items():
        assert len(table) > 0, kind
        for rec in table:
            assert rec.source.strip(), (kind, rec.id)
            assert rec.provenance in {"vendor", "published", "measured", "assumed"}


def test_required_accelerator_families_present(cat):
    ids = set(cat.accelerators.ids)
    for needed in [
        "V100-SXM2-32GB",
        "A100-SXM-80GB",
        "H100-SXM",
        "H200-SXM",
        "B200",
        "GB200",
        "MI250X",
        "MI300X",
        "MI325X",
        "TPU-v4",
        "TPU-v5e",
        "TPU-v5p",
        "TPU-v6e",
        "Gaudi2",
        "Gaudi3",
    ]:
        assert needed in ids, needed


def test_h100_figures_in_si(cat):
    h = cat.accelerators.get("H100-SXM")
    assert h.memory_bytes == pytest.approx(
        80 * 2**30
    )  # 80 GiB of HBM3 (binary, as vendors mean it)
    assert h.hbm_bw_bytes_per_s == pytest.approx(3.35e12)
    assert h.peak_for(Precision.BF16) == pytest.approx(989.4e12)
    # NVLink 4: 900 GB/s bidirectional -> 450 GB/s per direction
    assert h.scaleup_bw_bytes_per_s_per_direction == pytest.approx(450e9)


def test_lookup_is_case_insensitive_with_aliases(cat):
    assert cat.accelerators.get("h100").id == "H100-SXM"
    assert cat.models.get("Llama 2 70B").id == "llama-2-70b"
    with pytest.raises(UnknownNameError) as e:
        cat.accelerators.get("H100-SMX")
    assert "H100-SXM" in str(e.value)


def test_legacy_and_deprecated_software_marked(cat):
    caffe2 = cat.software.get("caffe2")
    assert caffe2.status == "deprecated" and caffe2.superseded_by == "pytorch"
    assert "2018" in caffe2.status_note
    for needed in [
        "pytorch",
        "tensorflow",
        "jax",
        "vllm",
        "tensorrt-llm",
        "sglang",
        "tgi",
        "tf-serving",
        "onnxruntime",
        "triton",
        "torchserve",
        "llama.cpp",
    ]:
        assert needed in cat.software, needed


def test_si_key_conversion():
    assert si_key("memory_gb") == ("memory_bytes", 1e9)
    assert si_key("scaleup_bw_gb_per_s_per_direction")[0] == "scaleup_bw_bytes_per_s_per_direction"
    assert si_key("bw_gbit_per_s_per_direction") == ("bw_bytes_per_s_per_direction", 1e9 / 8)
    assert si_key("latency_us") == ("latency_s", 1e-6)
    assert si_key("usd_per_tb_month") == ("usd_per_tb_month", 1.0)
    assert si_key("tdp_w") == ("tdp_w", 1.0)
    assert to_si({"peak_tflops": {"bf16": 2.0}}) == {"peak_flops_per_s": {"bf16": 2e12}}


def test_model_params_match_published(cat):
    """Derived parameter counts agree with the authors' figures (rounded ones within 10%)."""
    from aidc.model.transformer import param_counts

    for m in cat.models:
        if m.params_published:
            assert param_counts(m).total == pytest.approx(m.params_published, rel=0.1), m.id
        if m.active_params_published:
            assert param_counts(m).active == pytest.approx(m.active_params_published, rel=0.05), (
                m.id
            )


# --- data checks: catch unit slips, sparse-vs-dense mix-ups, undated or orphan prices ---

KNOWN_FEATURES = {
    "confidential_computing",
    "hw_partitioning",
    "mig",
    "sparsity_2_4",
    "transformer_engine",
}


def _peak_tflops(acc, prec: str) -> float | None:
    value = acc.peak_flops_per_s.get(Precision(prec))
    return None if value is None else value / 1e12


def test_dense_peak_ordering(cat):
    """Narrower formats never run slower: fp4 >= fp8 >= bf16 >= tf32 >= fp32 where listed.

    A violation usually means a sparse figure slipped in next to dense ones, or a unit slip.
    INT8 is not ordered: Blackwell Ultra cut INT8 far below FP8 (NVIDIA datasheet).
    """
    chain = ["fp4", "fp8", "bf16", "tf32", "fp32"]
    for acc in cat.accelerators:
        listed = [(p, _peak_tflops(acc, p)) for p in chain if _peak_tflops(acc, p) is not None]
        for (hi_p, hi), (lo_p, lo) in itertools.pairwise(listed):
            assert hi >= lo, f"{acc.id}: {hi_p} {hi} TF < {lo_p} {lo} TF"
        fp16, bf16 = _peak_tflops(acc, "fp16"), _peak_tflops(acc, "bf16")
        # tensor-core parts run FP16 and BF16 at one rate; CPU vector units need not
        # (Arm cores have native FP16 FMA but only BF16 dot products)
        if fp16 is not None and bf16 is not None and acc.kind != "cpu":
            assert fp16 == pytest.approx(bf16), acc.id


def test_memory_bandwidth_and_ridge_point_plausible(cat):
    """Bandwidth in a physical range, memory sweep time and FLOP/B ridge point sane.

    Catches TB/GB and TFLOPS/GFLOPS slips: H100 reads its 80 GB in ~24 ms and its BF16
    ridge point is ~300 FLOP/B; on-chip-SRAM designs (Groq) are exempt from the sweep bound.
    """
    for acc in cat.accelerators:
        bw = acc.hbm_bw_bytes_per_s
        sram = "sram" in acc.memory_type.lower()
        assert 50e9 <= bw <= (100e12 if sram else 10e12), (acc.id, bw)
        if not sram:
            assert 5e-3 <= acc.memory_bytes / bw <= 10.0, (acc.id, acc.memory_bytes / bw)
        for prec, peak in acc.peak_flops_per_s.items():
            assert 1.0 <= peak / bw <= 2000.0, (acc.id, prec, peak / bw)


def test_scaleup_fields_consistent(cat):
    """A scale-up domain wider than one device needs scale-up bandwidth, and the link exists."""
    for acc in cat.accelerators:
        # 'none' (schema): a single device with no scale-up link, e.g. a phone SoC
        if acc.scaleup_link == "none":
            assert acc.scaleup_domain_devices == 1, acc.id
        else:
            assert acc.scaleup_link in cat.links, (acc.id, acc.scaleup_link)
        if acc.scaleup_domain_devices > 1:
            assert acc.scaleup_bw_bytes_per_s_per_direction > 0, acc.id
        assert acc.devices_per_node >= 1


def test_features_are_known_and_mig_implies_partitioning(cat):
    for acc in cat.accelerators:
        assert set(acc.features) <= KNOWN_FEATURES, (acc.id, acc.features)
        if "mig" in acc.features:
            assert "hw_partitioning" in acc.features, acc.id


def test_tpus_and_aws_chips_are_cloud_only_without_purchase_price(cat):
    for acc in cat.accelerators:
        if acc.kind == "tpu" or acc.vendor == "AWS":
            assert acc.availability == ("cloud",), acc.id
            assert acc.list_price_usd is None, acc.id


def test_every_price_is_dated_and_resolvable(cat):
    year = re.compile(r"(19|20)\d\d")
    for p in cat.prices:
        assert p.item in cat.accelerators, (p.id, p.item)
        m = year.search(p.price_date)
        assert m and 2015 <= int(m.group(0)) <= 2035, (p.id, p.price_date)
        assert 0.05 <= p.usd_per_device_hour <= 50.0, (p.id, p.usd_per_device_hour)
    for acc in cat.accelerators:
        if acc.list_price_usd is not None:
            assert year.search(acc.price_note), (acc.id, acc.price_note)
            assert 500 <= acc.list_price_usd <= 100_000, acc.id


def test_core_accelerators_have_a_price(cat):
    """Designs without a price are rejected; the issue's core set must always be costable."""
    on_demand = {p.item for p in cat.prices if p.price_type == "on-demand"}
    core = [
        "A100-SXM-80GB", "H100-SXM", "H100-PCIe", "H100-NVL", "H200-SXM", "B200", "GB200",
        "B300", "L4", "L40S", "A10", "T4", "MI300X", "MI325X", "MI355X", "Gaudi2", "Gaudi3",
        "TPU-v4", "TPU-v5e", "TPU-v5p", "TPU-v6e",
    ]  # fmt: skip
    for name in core:
        acc = cat.accelerators.get(name)
        assert acc.list_price_usd is not None or acc.id in on_demand, name


def test_names_unique_across_tables_and_field_provenance_keys_exist(cat):
    seen: dict[str, str] = {}
    for kind, table in cat.tables().items():
        for rec in table:
            for name in rec.names:
                other = seen.setdefault(name.lower(), kind)
                assert other == kind, f"{name!r} names a {other} and a {kind}"
            for key in rec.field_provenance:
                assert key in type(rec).model_fields, (kind, rec.id, key)


@pytest.mark.parametrize(
    ("acc_id", "prec", "tflops"),
    [
        # NVIDIA H100/H200 product-page tables, sparse/2 (verified in catalog review)
        ("H100-NVL", "bf16", 835.5),
        ("H100-NVL", "fp8", 1670.5),
        ("H200-NVL", "fp8", 1670.5),
        # GB200 NVL72 page: 5,760 TF FP32 / 72 GPUs
        ("GB200", "fp32", 80.0),
        # HGX/DGX B300 pages: 108 PF FP4 dense / 8; Blackwell Ultra INT8 307 TOPS sparse / 2
        ("B300", "fp4", 13500.0),
        ("B300", "int8", 153.5),
        # AWS Neuron docs
        ("Trainium2", "fp8", 1299.0),
        ("Inferentia2", "bf16", 190.0),
    ],
)
def test_verified_vendor_peaks(cat, acc_id, prec, tflops):
    assert _peak_tflops(cat.accelerators.get(acc_id), prec) == pytest.approx(tflops)


def test_verified_memory_and_interconnect(cat):
    acc = cat.accelerators.get
    # device memory in binary GiB (vendors' 'GB' of HBM)
    assert acc("B300").memory_bytes == pytest.approx(270 * 2**30)  # Blackwell Ultra datasheet, HGX
    assert acc("GB300").memory_bytes == pytest.approx(279 * 2**30)
    assert acc("GB200").memory_bytes == pytest.approx(186 * 2**30)  # 13.4 TB / 72
    assert acc("TPU-v4").memory_bytes == pytest.approx(32 * 2**30)
    # TPU v4 ICI: 6 links x 45 GB/s one-way (scaling-book); was recorded as 0
    assert acc("TPU-v4").scaleup_bw_bytes_per_s_per_direction == pytest.approx(270e9)


def test_cpu_inference_entries_cover_the_seed_cpu(cat):
    cpu = cat.accelerators.get("CPU-Xeon-8260")
    host = cat.cpus.get("Xeon-8260")
    assert cpu.kind == "cpu"
    assert cpu.peak_for(Precision.FP32) == pytest.approx(host.peak_fp32_flops_per_s, rel=1e-3)
    assert cpu.hbm_bw_bytes_per_s == pytest.approx(host.mem_bw_bytes_per_s, rel=1e-3)
    assert cpu.field_provenance["peak_flops_per_s"] == "assumed"
