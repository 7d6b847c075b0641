"""Whether overlayfs works on the filesystem under a snapshot root (needs mount rights)."""

import os
import shutil

from ketch.linux.mount import MNT_DETACH, mount, umount

__all__ = ["overlay_supported"]


def overlay_supported(root: str) -> bool:
    """Mount a two-lower overlay in a scratch directory under ``root``; True if it works."""
    base = os.path.join(root, f"probe-{os.getpid()}")
    try:
        for d in ("l1", "l2", "u", "w", "m"):
            os.makedirs(os.path.join(base, d), exist_ok=True)
        data = f"lowerdir={base}/l1:{base}/l2,upperdir={base}/u,workdir={base}/w"
        try:
            mount("overlay", f"{base}/m", "overlay", 0, data)
        except OSError:
            return False
        umount(f"{base}/m", MNT_DETACH)
        return True
    finally:
        shutil.rmtree(base, ignore_errors=True)
