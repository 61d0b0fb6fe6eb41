"""Shared CLI plumbing: consoles, context building, safe file writing."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from aidc.catalog.calibration import Calibration, load_calibration, load_default_calibration
from aidc.catalog.loader import load_catalog
from aidc.catalog.resolve import resolve_scenario_models
from aidc.errors import AidcInputError
from aidc.planner.context import PlanContext, facility_params
from aidc.spec.load import load_default_scenario, load_scenario
from aidc.spec.scenario import Scenario

console = Console()
err_console = Console(stderr=True)


def load_scenario_arg(path: Path | None) -> tuple[Scenario, Path | None]:
    if path is None:
        return load_default_scenario(), None
    return load_scenario(path), path.parent


def calibration_arg(path: Path | None) -> Calibration:
    return load_default_calibration() if path is None else load_calibration(path)


def build_context(
    scenario: Scenario, base_dir: Path | None, calibration: Path | None
) -> PlanContext:
    catalog = load_catalog()
    return PlanContext(
        catalog=catalog,
        calibration=calibration_arg(calibration),
        models=resolve_scenario_models(scenario, catalog, base_dir),
        facility=facility_params(catalog, scenario.prices),
    )


def write_files(out_dir: Path, files: dict[str, str | bytes], *, force: bool) -> list[Path]:
    """Write ``files`` into ``out_dir``; refuse to overwrite existing files unless ``force``."""
    if out_dir.exists() and not out_dir.is_dir():
        raise AidcInputError(f"--out {out_dir}: exists and is not a directory")
    targets = [out_dir / name for name in files]
    existing = [p for p in targets if p.exists()]
    if existing and not force:
        raise AidcInputError(
            f"--out {out_dir}: would overwrite {existing[0].name}"
            + (f" and {len(existing) - 1} more" if len(existing) > 1 else "")
            + "; pass --force to overwrite or choose another directory"
        )
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        for p, content in zip(targets, files.values(), strict=True):
            tmp = p.with_name(p.name + ".tmp")
            if isinstance(content, bytes):
                tmp.write_bytes(content)
            else:
                tmp.write_text(content, encoding="utf-8")
            tmp.replace(p)
    except OSError as err:
        raise AidcInputError(f"--out {out_dir}: cannot write ({err.strerror})") from None
    return targets
