"""Images: references, the image store (names -> descriptors), unpacking,
archives (docker-archive, OCI layout), import and garbage collection.

Import the submodule you need; this package imports nothing at import time.
"""

__all__: list[str] = []
