"""aidc: choose and size the technology of an AI data center, with the evidence."""

__version__ = "0.1.0"
