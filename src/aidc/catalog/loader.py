"""Load the catalog shipped inside the package into frozen, validated records.

Each data file in ``catalog/data/`` holds one top-level key (``accelerators:``,
``models:``…) whose value is a list of records in human units. The loader converts
units (see :mod:`aidc.catalog.units_in_names`), validates each record with its schema
and indexes it by id and aliases (case-insensitive). Unknown names raise
:class:`~aidc.errors.UnknownNameError` with a "did you mean".
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Generic, TypeVar

from pydantic import BaseModel, ValidationError

from aidc.catalog.schema import (
    Accelerator,
    CloudPrice,
    CollectiveCurve,
    DataService,
    FacilityDefault,
    HostCPU,
    Link,
    ModelArch,
    NetworkGear,
    Record,
    SoftwareStack,
    StorageSystem,
    ValidationFigure,
)
from aidc.catalog.units_in_names import to_si
from aidc.errors import UnknownNameError
from aidc.fileio import load_packaged_yaml

R = TypeVar("R", bound=Record)


@dataclass(frozen=True)
class Table(Generic[R]):
    """Records of one kind, looked up by id or alias, case-insensitively."""

    kind: str
    records: tuple[R, ...]
    _index: dict[str, R] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        for rec in self.records:
            for name in rec.names:
                key = name.lower()
                if key in self._index and self._index[key].id != rec.id:
                    raise ValueError(f"{self.kind}: name {name!r} used by two records")
                self._index[key] = rec

    def __iter__(self) -> Iterator[R]:
        return iter(self.records)

    def __len__(self) -> int:
        return len(self.records)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._index

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(r.id for r in self.records)

    def get(self, name: str, *, field: str | None = None) -> R:
        try:
            return self._index[name.lower()]
        except KeyError:
            raise UnknownNameError(self.kind, name, self.ids, field=field) from None

    def find(self, name: str) -> R | None:
        return self._index.get(name.lower())


@dataclass(frozen=True)
class Catalog:
    """Everything aidc knows about hardware, software, models, facilities and prices."""

    accelerators: Table[Accelerator]
    cpus: Table[HostCPU]
    links: Table[Link]
    models: Table[ModelArch]
    software: Table[SoftwareStack]
    storage: Table[StorageSystem]
    services: Table[DataService]
    facility: Table[FacilityDefault]
    prices: Table[CloudPrice]
    network_gear: Table[NetworkGear]
    collectives: Table[CollectiveCurve]
    validation: Table[ValidationFigure]

    def tables(self) -> dict[str, Table]:  # type: ignore[type-arg]
        return {
            "accelerators": self.accelerators,
            "cpus": self.cpus,
            "links": self.links,
            "models": self.models,
            "software": self.software,
            "storage": self.storage,
            "services": self.services,
            "facility": self.facility,
            "prices": self.prices,
            "network_gear": self.network_gear,
            "collectives": self.collectives,
            "validation": self.validation,
        }

    def find_any(self, name: str) -> tuple[str, Record] | None:
        for kind, table in self.tables().items():
            rec = table.find(name)
            if rec is not None:
                return kind, rec
        return None

    def all_names(self) -> list[str]:
        return [n for t in self.tables().values() for r in t for n in r.names]

    def facility_value(self, metric_id: str) -> float:
        return self.facility.get(metric_id).value


_FILES: dict[str, tuple[str, type[Record]]] = {
    "accelerators": ("accelerators.yaml", Accelerator),
    "cpus": ("cpus.yaml", HostCPU),
    "links": ("links.yaml", Link),
    "models": ("models.yaml", ModelArch),
    "software": ("software.yaml", SoftwareStack),
    "storage": ("storage.yaml", StorageSystem),
    "services": ("services.yaml", DataService),
    "facility": ("facility.yaml", FacilityDefault),
    "prices": ("prices.yaml", CloudPrice),
    "network_gear": ("network_gear.yaml", NetworkGear),
    "collectives": ("collectives.yaml", CollectiveCurve),
    "validation": ("validation.yaml", ValidationFigure),
}


class CatalogDataError(Exception):
    """A shipped data file is wrong: a bug in aidc's data, not the user's input."""


def parse_records(kind: str, raw: object, schema: type[R], *, origin: str) -> tuple[R, ...]:
    if not isinstance(raw, dict) or kind not in raw or not isinstance(raw[kind], list):
        raise CatalogDataError(f"{origin}: expected a top-level '{kind}:' list")
    out: list[R] = []
    for i, rec in enumerate(raw[kind]):
        if not isinstance(rec, dict):
            raise CatalogDataError(f"{origin}: record {i} is not a mapping")
        try:
            out.append(schema.model_validate(to_si(rec)))
        except ValidationError as err:
            first = err.errors()[0]
            loc = ".".join(str(x) for x in first["loc"])
            raise CatalogDataError(
                f"{origin}: record {rec.get('id', i)!r}: {loc}: {first['msg']}"
            ) from None
    return tuple(out)


def _read_packaged(filename: str) -> object:
    text = resources.files("aidc.catalog").joinpath("data", filename).read_text("utf-8")
    return load_packaged_yaml(text)


@cache
def load_catalog() -> Catalog:
    """The catalog shipped with aidc (cached; records are frozen)."""
    tables: dict[str, Table] = {}  # type: ignore[type-arg]
    for kind, (filename, schema) in _FILES.items():
        records = parse_records(kind, _read_packaged(filename), schema, origin=filename)
        tables[kind] = Table(kind=kind.rstrip("s") if kind != "software" else kind, records=records)
    return Catalog(**tables)


def record_as_dict(rec: BaseModel) -> dict[str, object]:
    return rec.model_dump(mode="json")
