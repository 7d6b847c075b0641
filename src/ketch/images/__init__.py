"""Images: references, the image store (names -> descriptors), unpacking,
archives (docker-archive, OCI layout), import and garbage collection.

The main names are importable from here (loaded on first use, so importing the
package costs nothing): ``Reference``, ``parse_reference``, ``ImageStore``,
``ImageRecord``, ``chain_ids``.  The rest lives in the submodules: ``platforms``,
``load``, ``save``, ``import_``, ``changes``, ``remove``, ``gc``, ``views``,
``unpack``.
"""

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ketch.images.reference import Reference, parse_reference
    from ketch.images.store import ImageRecord, ImageStore
    from ketch.images.unpack import chain_ids

__all__ = ["ImageRecord", "ImageStore", "Reference", "chain_ids", "parse_reference"]

_HOMES = {
    "Reference": "ketch.images.reference",
    "parse_reference": "ketch.images.reference",
    "ImageRecord": "ketch.images.store",
    "ImageStore": "ketch.images.store",
    "chain_ids": "ketch.images.unpack",
}


def __getattr__(name: str) -> object:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'ketch.images' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(home), name)
