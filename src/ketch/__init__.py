"""ketch: a container engine on the OCI standards.

Nothing is imported here: every entry point imports only what its path needs
(container start time is a feature).
"""

__all__: list[str] = []
__version__ = "0.1.0"
