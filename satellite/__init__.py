"""Satellite: an on-premises license manager appliance."""

__version__ = "0.1.0"
