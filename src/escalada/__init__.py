"""Escalada: escalation management for customer-support teams."""

__version__ = "0.1.0"
