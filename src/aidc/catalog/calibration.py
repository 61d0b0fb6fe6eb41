"""Calibration data: empirical efficiencies the analytical models read, with provenance.

Efficiencies are data, not constants in code. aidc ships a default calibration
(``catalog/data/calibration.yaml``); ``aidc calibrate`` writes new files from
measurements and ``--calibration FILE`` selects one.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from aidc.catalog.schema import Provenance
from aidc.errors import AidcInputError
from aidc.fileio import load_packaged_yaml, read_document


class CalibrationValue(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    value: float
    provenance: Provenance
    source: str = Field(min_length=1)
    notes: str = ""


class Calibration(BaseModel):
    """Named efficiency values, e.g. ``training.matmul_efficiency``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    description: str = ""
    values: dict[str, CalibrationValue]

    def value(self, key: str) -> float:
        try:
            return self.values[key].value
        except KeyError:
            raise KeyError(f"calibration {self.name!r} has no value {key!r}") from None

    def merged(self, other: Calibration) -> Calibration:
        """``other``'s values override this one's (a measured file over the defaults)."""
        return Calibration(
            name=f"{self.name}+{other.name}",
            description=other.description or self.description,
            values={**self.values, **other.values},
        )


def _packaged(filename: str) -> Calibration:
    text = resources.files("aidc.catalog").joinpath("data", filename).read_text("utf-8")
    return Calibration.model_validate(load_packaged_yaml(text))


def load_default_calibration() -> Calibration:
    """calibration.yaml with the serving model's inference_efficiency.yaml laid over it."""
    return _packaged("calibration.yaml").merged(_packaged("inference_efficiency.yaml"))


def load_calibration(path: str | Path) -> Calibration:
    """Read a calibration file and lay it over the shipped defaults."""
    raw = read_document(path)
    try:
        cal = Calibration.model_validate(raw)
    except ValidationError as err:
        first = err.errors()[0]
        loc = ".".join(str(x) for x in first["loc"])
        raise AidcInputError(f"{path}: {loc}: {first['msg']}") from None
    return load_default_calibration().merged(cal)
