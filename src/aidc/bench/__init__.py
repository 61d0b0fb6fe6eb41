"""Real measurements on the machine at hand: engines, training steps, storage, probes.

Everything heavy (torch, onnxruntime, transformers) is imported lazily inside this
package, so ``aidc`` installs and plans without them; :func:`require` turns a missing
optional dependency into one line that names the extra to install.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from aidc.errors import AidcInputError

BENCH_EXTRA_HINT = "pip install -e '.[bench]'"


def require(module: str) -> ModuleType:
    """Import ``module`` or raise a one-line error naming the ``bench`` extra."""
    try:
        return importlib.import_module(module)
    except ImportError as err:
        raise AidcInputError(
            f"the benchmarks need {module.split('.')[0]!r}, which is not installed "
            f"({err.msg}); install the bench extra: {BENCH_EXTRA_HINT}"
        ) from None


def available(module: str) -> bool:
    try:
        importlib.import_module(module)
    except ImportError:
        return False
    return True
