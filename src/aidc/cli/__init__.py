"""The ``aidc`` command: thin wrappers that parse, load, call the core and render.

Bad input never shows a traceback: :func:`main` turns :class:`AidcInputError` (and the
argument parser's own errors) into one line on stderr and a non-zero exit code.
"""

from __future__ import annotations

import sys

import typer

from aidc.errors import AidcInputError

app = typer.Typer(
    name="aidc",
    help="Choose and size the technology of an AI data center, with the evidence.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# Subcommands register themselves on `app` when imported.
from aidc.cli import (  # noqa: E402, F401
    catalog_cmd,
    estimate_inference,
    estimate_training,
    plan_cmd,
    report_cmd,
    scenario_cmd,
    subapps,
    validate_inference,
    validate_training,
)

EXIT_BAD_INPUT = 2


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the app, map user errors to one line and exit code 2."""
    try:
        app(args=argv, standalone_mode=False)
    except AidcInputError as err:
        print(f"aidc: error: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except typer.Exit as e:
        return e.exit_code
    except typer.Abort:
        print("aidc: aborted", file=sys.stderr)
        return 1
    except Exception as err:
        # The argument parser's usage errors (click's, vendored by newer typer releases)
        # carry format_message(); anything else is a bug and keeps its traceback.
        if callable(getattr(err, "format_message", None)) and hasattr(err, "exit_code"):
            print(f"aidc: error: {err.format_message()}", file=sys.stderr)
            return int(err.exit_code) or EXIT_BAD_INPUT
        raise
    return 0


def run() -> None:  # pragma: no cover - console script shim
    sys.exit(main())


# Measurement and calibration commands (`aidc bench ...`, `aidc calibrate`).
from aidc.cli import bench_cmd, calibrate_cmd  # noqa: E402, F401
