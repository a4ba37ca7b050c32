"""formcheck: sees when a knee caves inward during rehab exercises."""

__version__ = "0.1.0"
