"""flowradar: a network radar for hosts and fleets."""

__version__ = "0.1.0"
