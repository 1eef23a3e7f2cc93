"""Enrichers: add process, geography and reputation facts to flow records."""
