"""``ketch registry serve``: an OCI distribution spec 1.1 registry on aiohttp.

``create_app(config)`` builds the web application; ``serve(config, ...)`` runs it
until SIGINT/SIGTERM; ``garbage_collect(storage)`` sweeps unreferenced blobs.
The server imports nothing of the engine.
"""

from ketch.registry.server._app import create_app
from ketch.registry.server._serve import serve
from ketch.registry.server._state import ServerConfig
from ketch.registry.server.gc import GCResult, garbage_collect
from ketch.registry.server.storage import FilesystemStorage, Storage

__all__ = [
    "FilesystemStorage",
    "GCResult",
    "ServerConfig",
    "Storage",
    "create_app",
    "garbage_collect",
    "serve",
]
