"""Escalada's pure domain: no Django, no clock reads, no I/O (see README.md here)."""
