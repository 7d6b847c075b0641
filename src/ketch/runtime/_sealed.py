"""No import once a child is inside the container's root.

After ``pivot_root`` (or ``setns`` into the container's mount namespace for
``exec``) every path lookup happens in the container's tree, and ``sys.path``
holds absolute host paths that now name files the image controls: a lazily
imported module (a stdlib one, a codec, a ketch one) would run the container's
code as root in the runtime.  Everything is imported before; ``seal_imports``
then puts a finder first on ``sys.meta_path`` that refuses every import not
already in ``sys.modules``, so a late import is a clear error instead of a hole.
"""

import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from importlib.machinery import ModuleSpec
    from types import ModuleType

__all__ = ["ImportsSealed", "seal_imports"]


class ImportsSealed:
    """A ``sys.meta_path`` finder that refuses every lookup."""

    __slots__ = ()

    def find_spec(
        self, fullname: str, path: "Sequence[str] | None", target: "ModuleType | None" = None
    ) -> "ModuleSpec | None":
        raise ImportError(
            f"import of {fullname!r} refused inside the container's root "
            "(it would load the container's files): import it before entering"
        )


def seal_imports() -> None:
    """Refuse every further import in this process (call right after entering the root)."""
    if not any(isinstance(f, ImportsSealed) for f in sys.meta_path):
        sys.meta_path.insert(0, ImportsSealed())
