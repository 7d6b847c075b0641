"""OCI spec types: pure data, no I/O beyond decoding.

``runtime_spec``: the runtime-spec config.json and state; image types live in
``image_spec``.  Import the submodule you need.
"""

__all__: list[str] = []
