"""Predicted versus published or measured results: reference-row parsing, scoring, fitting.

Pure functions over already-read rows (the CLI reads files); nothing here prints.
"""
