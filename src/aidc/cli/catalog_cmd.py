"""``aidc catalog list|show``: what aidc knows, with sources."""

from __future__ import annotations

from typing import Annotated

import typer
import yaml
from rich.table import Table

from aidc.catalog.loader import load_catalog
from aidc.catalog.schema import Accelerator, ModelArch, SoftwareStack
from aidc.cli import app
from aidc.cli.common import console
from aidc.errors import AidcInputError, UnknownNameError
from aidc.model.transformer import param_counts
from aidc.units import fmt_bytes_decimal, fmt_bytes_per_s, fmt_count, fmt_flops_per_s

catalog_app = typer.Typer(
    help="Browse the catalog (hardware, software, models, facilities, prices).",
    no_args_is_help=True,
)
app.add_typer(catalog_app, name="catalog")


def _row(kind: str, rec: object) -> list[str]:
    if isinstance(rec, Accelerator):
        from aidc.catalog.schema import Precision

        bf16 = rec.peak_for(Precision.BF16)
        return [
            rec.id,
            rec.vendor,
            fmt_bytes_decimal(rec.memory_bytes),
            fmt_bytes_per_s(rec.hbm_bw_bytes_per_s),
            fmt_flops_per_s(bf16) if bf16 else "-",
            f"{rec.tdp_w:.0f} W" if rec.tdp_w else "n/p",
            rec.provenance,
        ]
    if isinstance(rec, ModelArch):
        pc = param_counts(rec)
        return [
            rec.id,
            rec.family,
            rec.kind,
            fmt_count(pc.total),
            fmt_count(pc.active),
            str(rec.n_layers),
            str(rec.hidden_size),
        ]
    if isinstance(rec, SoftwareStack):
        return [rec.id, rec.kind, rec.status, ", ".join(rec.devices), rec.batching]
    return [
        rec.id,
        getattr(rec, "kind", getattr(rec, "metric", "")),
        getattr(rec, "provenance", ""),
    ]  # type: ignore[attr-defined]


_HEADERS = {
    "accelerators": ["id", "vendor", "memory", "HBM bw", "dense BF16", "TDP", "provenance"],
    "models": ["id", "family", "kind", "params", "active", "layers", "hidden"],
    "software": ["id", "kind", "status", "devices", "batching"],
}


@catalog_app.command("list")
def list_command(
    kind: Annotated[
        str,
        typer.Argument(
            help="accelerators, models, software, cpus, links, storage, services, facility, prices"
        ),
    ] = "accelerators",
) -> None:
    """List the records of one kind."""
    cat = load_catalog()
    tables = cat.tables()
    aliases = {
        "engines": "software",
        "frameworks": "software",
        "networks": "links",
        "hardware": "accelerators",
    }
    key = aliases.get(kind.lower(), kind.lower())
    if key not in tables:
        raise UnknownNameError("catalog kind", kind, list(tables) + list(aliases), field="kind")
    headers = _HEADERS.get(key, ["id", "kind", "provenance"])
    t = Table(title=f"{key} ({len(tables[key])})", title_justify="left")
    for h in headers:
        t.add_column(h)
    for rec in tables[key]:
        if kind.lower() == "engines" and rec.kind == "framework":  # type: ignore[attr-defined]
            continue
        if kind.lower() == "frameworks" and rec.kind != "framework":  # type: ignore[attr-defined]
            continue
        t.add_row(*_row(key, rec))
    console.print(t)


@catalog_app.command("show")
def show_command(name: Annotated[str, typer.Argument(help="id or alias of any record")]) -> None:
    """Show one record with all its fields and its source."""
    cat = load_catalog()
    hit = cat.find_any(name)
    if hit is None:
        raise UnknownNameError("catalog entry", name, cat.all_names(), field="name")
    kind, rec = hit
    data = rec.model_dump(mode="json")
    if isinstance(rec, ModelArch):
        pc = param_counts(rec)
        data["derived"] = {"params_total": pc.total, "params_active": pc.active}
    console.print(f"[bold]{kind}[/bold]: {rec.id}")
    print(yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=110), end="")


__all__ = ["AidcInputError", "catalog_app"]
