"""Layers: apply OCI layer tars to directories, and diff directories into layer tars.

``apply_layer`` unpacks a (gzip, zstd or plain) layer blob with OCI whiteouts,
refusing members that would write outside the destination; ``diff_layer``
writes the changes of an overlay upper (or of a directory against its parent)
as a layer.  The heavy modules load on first use.
"""

from ketch.layers._types import ApplyLimits, ApplyResult, DiffResult

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ketch.layers._apply import apply_layer
    from ketch.layers._diff import diff_layer

__all__ = ["ApplyLimits", "ApplyResult", "DiffResult", "apply_layer", "diff_layer"]


def __getattr__(name: str) -> object:
    if name == "apply_layer":
        from ketch.layers._apply import apply_layer

        return apply_layer
    if name == "diff_layer":
        from ketch.layers._diff import diff_layer

        return diff_layer
    raise AttributeError(name)
