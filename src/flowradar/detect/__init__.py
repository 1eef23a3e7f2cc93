"""Detectors: windowed counters over flow batches, thresholds and alerts."""
