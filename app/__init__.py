"""Commonplace core: Matrix access, the SQLite cache and sync, with no Qt widgets."""

__version__ = "0.1.0"
