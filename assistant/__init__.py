"""Report assistant: answers questions only from report documents, citing the passages it used."""

__version__ = "0.1.0"
