"""Whether overlayfs works on the filesystem under a snapshot root (needs mount rights)."""

import os
import shutil
from pathlib import Path

from ketch.linux.mount import MNT_DETACH, mount, umount

__all__ = ["overlay_supported"]


def overlay_supported(root: Path) -> bool:
    """Mount a two-lower overlay in a scratch directory under ``root``; True if it works."""
    base = root / f"probe-{os.getpid()}"
    try:
        for d in ("l1", "l2", "u", "w", "m"):
            (base / d).mkdir(parents=True, exist_ok=True)
        data = f"lowerdir={base}/l1:{base}/l2,upperdir={base}/u,workdir={base}/w"
        try:
            mount("overlay", str(base / "m"), "overlay", 0, data)
        except OSError:
            return False
        umount(str(base / "m"), MNT_DETACH)
        return True
    finally:
        shutil.rmtree(base, ignore_errors=True)
