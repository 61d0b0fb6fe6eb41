"""The catalog: hardware, software, models, facilities and prices, with provenance."""

from aidc.catalog.loader import Catalog, Table, load_catalog
from aidc.catalog.schema import (
    BYTES_PER_ELEMENT,
    Accelerator,
    CloudPrice,
    DataService,
    FacilityDefault,
    HostCPU,
    Link,
    ModelArch,
    Precision,
    SoftwareStack,
    StorageSystem,
)

__all__ = [
    "BYTES_PER_ELEMENT",
    "Accelerator",
    "Catalog",
    "CloudPrice",
    "DataService",
    "FacilityDefault",
    "HostCPU",
    "Link",
    "ModelArch",
    "Precision",
    "SoftwareStack",
    "StorageSystem",
    "Table",
    "load_catalog",
]
