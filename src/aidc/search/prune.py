"""Feasibility predicates applied before evaluation, each removal with its reason.

Pruning early keeps the candidate space small: an accelerator the vendor allow-list
excludes, a deployment the data-residency rule forbids or a deprecated engine never
reaches the models. The plan still says what was removed and why.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aidc.catalog.loader import Catalog
from aidc.catalog.schema import Accelerator, Precision
from aidc.errors import AidcInputError
from aidc.spec.scenario import Constraints


@dataclass(frozen=True)
class PrunedOption:
    """An option removed before evaluation: what, by which constraint, and why."""

    subject: str
    constraint: str
    message: str


def accelerator_screen(
    catalog: Catalog,
    constraints: Constraints,
    precision: Precision | None = None,
    role: str | None = None,
) -> tuple[list[Accelerator], list[PrunedOption]]:
    """Accelerators the scenario allows, and the others with the first rule they break.

    Rules in order: the explicit list (``constraints.accelerators``), the vendor
    allow-list, the role (``training`` leaves out inference-only parts), the deployment
    (an accelerator only sold as a cloud service cannot be bought, and vice versa), and
    the numeric format the workload needs.
    """
    if constraints.accelerators:
        named = [
            catalog.accelerators.get(n, field="constraints.accelerators")
            for n in constraints.accelerators
        ]
        named_ids = {a.id for a in named}
    else:
        named_ids = None
    allowed_vendors = None
    if constraints.allowed_vendors:
        allowed_vendors = {v.lower() for v in constraints.allowed_vendors}
        known = {a.vendor.lower() for a in catalog.accelerators}
        unknown = allowed_vendors - known
        if unknown:
            raise AidcInputError(
                f"unknown vendor {sorted(unknown)[0]!r}; allowed: {', '.join(sorted(known))}",
                field="constraints.allowed_vendors",
            )
    keep: list[Accelerator] = []
    pruned: list[PrunedOption] = []
    for a in catalog.accelerators:
        if named_ids is not None and a.id not in named_ids:
            continue  # the user narrowed the search; not a rejection worth listing
        if allowed_vendors is not None and a.vendor.lower() not in allowed_vendors:
            vendors = ", ".join(sorted(constraints.allowed_vendors or []))
            pruned.append(
                PrunedOption(
                    a.id, "vendor", f"{a.vendor} is not on the vendor allow-list ({vendors})"
                )
            )
        elif not a.availability:
            pruned.append(
                PrunedOption(
                    a.id,
                    "availability",
                    "not a data-center part: reference hardware for validation",
                )
            )
        elif role is not None and role not in a.roles:
            pruned.append(
                PrunedOption(a.id, "role", f"built for {' and '.join(a.roles)}, not {role}")
            )
        elif constraints.deployment != "either" and constraints.deployment not in a.availability:
            pruned.append(
                PrunedOption(
                    a.id,
                    "deployment",
                    f"only available as {' or '.join(a.availability)}; the scenario requires "
                    f"{constraints.deployment}",
                )
            )
        elif precision is not None and a.peak_for(precision) is None:
            pruned.append(PrunedOption(a.id, "precision", f"has no {precision.value} compute path"))
        else:
            keep.append(a)
    if named_ids is not None:
        # keep the user's order for an explicit list
        order = {n: i for i, n in enumerate(a.id for a in named)}
        keep.sort(key=lambda a: order[a.id])
    return keep, pruned


def residency_screen(constraints: Constraints) -> tuple[Constraints, list[PrunedOption]]:
    """Data residency: cloud designs are removed when their region cannot be verified.

    The catalog's cloud prices name no region, so with ``data_residency`` set aidc cannot
    show that a cloud deployment keeps the data in place: it plans on-prem and says so.
    A scenario that insists on cloud keeps it, and the designs are rejected instead.
    """
    if not constraints.data_residency or constraints.deployment == "on-prem":
        return constraints, []
    if constraints.deployment == "cloud":
        return constraints, []
    msg = (
        f"data must stay in {constraints.data_residency!r}; the catalog's cloud prices name no "
        "region, so a cloud deployment cannot be shown to comply: planning on-prem only"
    )
    return constraints.model_copy(update={"deployment": "on-prem"}), [
        PrunedOption("cloud", "residency", msg)
    ]


def deprecated_software(
    catalog: Catalog, kinds: tuple[str, ...], model_kind: str
) -> list[PrunedOption]:
    """Deprecated stacks of the given software kinds that could run this model kind."""
    out = []
    for s in catalog.software:
        if s.kind in kinds and s.status == "deprecated" and model_kind in s.model_kinds:
            instead = f"; use {s.superseded_by}" if s.superseded_by else ""
            note = f" ({s.status_note.rstrip('.')})" if s.status_note else ""
            out.append(PrunedOption(s.id, "software_status", f"deprecated{note}{instead}"))
    return out


def task_screen(catalog: Catalog, task: str, engines: Sequence[str] | str) -> list[PrunedOption]:
    """Serving engines that cannot serve this encoder task (``engines`` is the service's
    list, or ``auto`` for every engine that runs encoders)."""
    if task == "generation":
        return []
    wanted = None if engines == "auto" else {e.lower() for e in engines}
    out = []
    for s in catalog.software:
        if s.kind == "framework" or "encoder" not in s.model_kinds:
            continue
        names = {s.id.lower(), *(a.lower() for a in s.aliases)}
        if wanted is not None and not names & wanted:
            continue
        if task not in s.encoder_tasks:
            out.append(
                PrunedOption(
                    s.id, "task", f"serves {', '.join(s.encoder_tasks)} encoders, not {task}"
                )
            )
    return out
