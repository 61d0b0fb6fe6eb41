"""Llama-3-70B prefill of 32k tokens (batch 1) on 8x H100-SXM, TensorRT-LLM fp8 and bf16:
fused attention efficiency, attention time and prefill pass time with the shipped
calibration. Runs against whatever aidc is on PYTHONPATH."""

import numpy as np

from aidc.catalog.calibration import load_default_calibration
from aidc.catalog.inference_calibration import efficiency_columns
from aidc.catalog.loader import load_catalog
from aidc.model import inference_step as st
from aidc.model.inference import build_deployment
from aidc.model.serve_format import serve_format

cat = load_catalog()
cal = load_default_calibration()
links = {lk.id: lk for lk in cat.links}
arch = cat.models.get("llama-3-70b")
acc = cat.accelerators.get("H100-SXM")
eng = cat.software.get("tensorrt-llm")
for fmt in ("bf16", "fp8"):
    for n in (128.0, 2048.0, 32768.0):
        dep = build_deployment(
            [arch],
            [acc],
            [eng],
            [serve_format(fmt)],
            tp=np.array([8.0]),
            pp=np.array([1.0]),
            links=links,
            efficiency=efficiency_columns(cal, [(acc.id, eng.id, fmt, acc.kind)]),
        )
        w = st.prefill_work(1.0, n)
        e = st.attention_efficiency(dep, w)[0]
        t = st.step_time(dep, w)
        print(
            f"{fmt} prompt {int(n):6d}: fused attention eff {e:.3f} of peak, attention "
            f"{t.attention_s[0] * 1e3:8.1f} ms, gemm {t.gemm_s[0] * 1e3:8.1f} ms, "
            f"pass {t.sequential_s[0] * 1e3:8.1f} ms"
        )
