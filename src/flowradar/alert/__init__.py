"""Alerts after the detectors: lifecycle, suppression, allowlists and delivery to sinks."""
