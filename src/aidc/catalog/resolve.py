"""Resolve each workload's ``model`` field to an architecture (catalog, file, inline)."""

from __future__ import annotations

from pathlib import Path

from aidc.catalog.hf_config import load_hf_config
from aidc.catalog.loader import Catalog
from aidc.catalog.schema import ModelArch
from aidc.errors import AidcInputError
from aidc.spec.scenario import InlineModel, Scenario


def _looks_like_path(ref: str) -> bool:
    return ref.endswith(".json") or "/" in ref or "\\" in ref or Path(ref).is_dir()


def resolve_model(
    ref: str | InlineModel, catalog: Catalog, *, field: str, base_dir: Path | None = None
) -> ModelArch:
    if isinstance(ref, InlineModel):
        data = ref.model_dump()
        name = data.pop("name")
        if data["ffn_hidden_size"] is None:
            data["ffn_hidden_size"] = 4 * data["hidden_size"]
        try:
            return ModelArch(
                id=name, family="custom", source="inline in scenario", provenance="assumed", **data
            )
        except ValueError as err:
            raise AidcInputError(str(err).splitlines()[-1], field=field) from None
    if ref in catalog.models:
        return catalog.models.get(ref)
    if _looks_like_path(ref):
        p = Path(ref)
        if not p.is_absolute() and base_dir is not None and not p.exists():
            p = base_dir / p
        try:
            return load_hf_config(p)
        except AidcInputError as err:
            raise AidcInputError(str(err), field=field) from None
    return catalog.models.get(ref, field=field)


def resolve_scenario_models(
    scenario: Scenario, catalog: Catalog, base_dir: Path | None = None
) -> dict[str, ModelArch]:
    out: dict[str, ModelArch] = {}
    for i, w in enumerate(scenario.workloads.training):
        out[w.name] = resolve_model(
            w.model, catalog, field=f"workloads.training[{i}].model", base_dir=base_dir
        )
    for i, s in enumerate(scenario.workloads.inference):
        out[s.name] = resolve_model(
            s.model, catalog, field=f"workloads.inference[{i}].model", base_dir=base_dir
        )
    return out
