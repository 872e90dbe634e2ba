"""Étanche: the front office of a medical laboratory, sealed against leaks."""

__version__ = "0.1.0"
