"""Registries: the distribution-spec client (pull, push, login) and server.

``ketch.registry.client`` talks to registries (OCI distribution spec 1.1 and the
Docker Registry HTTP API v2); ``ketch.registry.server`` is ``ketch registry serve``.
Shared pieces: ``config`` (registries.toml: mirrors, insecure registries) and
``auth`` (credentials in a docker config.json and credential helpers).
Nothing is imported here: each entry point imports what its path needs.
"""

__all__: list[str] = []
