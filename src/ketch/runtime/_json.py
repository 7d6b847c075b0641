"""The runtime's JSON codec: ``ketch.oci._json`` (kept so that existing imports still work)."""

from ketch.oci._json import dumps, loads

__all__ = ["dumps", "loads"]
