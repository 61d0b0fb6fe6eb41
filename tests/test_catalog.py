"""The shipped catalog loads, every record has provenance, units are SI."""

from __future__ import annotations

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
    assert h.memory_bytes == pytest.approx(80e9)
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
