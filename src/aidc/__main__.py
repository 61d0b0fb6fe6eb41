"""``python -m aidc``: the same as the ``aidc`` command."""

from aidc.cli import run

run()
