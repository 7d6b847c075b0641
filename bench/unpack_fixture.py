"""The Debian-sized layer ``bench/unpack`` times, built once and cached (not in the repo)."""

import glob
import shutil
import subprocess
from pathlib import Path

__all__ = ["layer_fixture"]

# dropped as the debian:bookworm image drops them
_EXCLUDES = ["./var/cache/apt/archives/*.deb", "./var/lib/apt/lists/*"]


def _debootstrap(rootfs: Path) -> bool:
    if shutil.which("debootstrap") is None:
        return False
    tmp = rootfs.with_name(rootfs.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    result = subprocess.run(
        ["debootstrap", "--variant=minbase", "bookworm", str(tmp), "http://deb.debian.org/debian"],
        capture_output=True, check=False)
    if result.returncode != 0:
        shutil.rmtree(tmp, ignore_errors=True)
        return False
    tmp.rename(rootfs)
    return True


def _compress(compression: str) -> list[str]:
    return {"gzip": ["gzip", "-6", "-n"], "zstd": ["zstd", "-3", "-q"], "none": ["cat"]}[compression]


def layer_fixture(cache: Path, compression: str) -> tuple[Path, int]:
    """(path of the layer blob, number of members), building it on first use."""
    cache.mkdir(parents=True, exist_ok=True)
    suffix = {"gzip": ".tar.gz", "zstd": ".tar.zst", "none": ".tar"}[compression]
    rootfs = cache / "rootfs"
    blob = cache / f"debian-bookworm{suffix}"
    if not blob.exists():
        if rootfs.is_dir() or _debootstrap(rootfs):
            argv = ["tar", "--numeric-owner", "--xattrs", "-C", str(rootfs), "-cf", "-"]
            argv += [f"--exclude={e}" for e in _EXCLUDES] + ["."]
        else:  # no Debian mirror: a host tree of similar shape
            blob = cache / f"host-usr{suffix}"
            paths = [*sorted(glob.glob("/usr/lib/python3*")), "/usr/share"]
            argv = ["tar", "--numeric-owner", "-cf", "-", *paths]
        if not blob.exists():
            tmp = blob.with_name(blob.name + ".tmp")
            with open(tmp, "wb") as out:
                tar = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
                subprocess.run(_compress(compression), stdin=tar.stdout, stdout=out, check=True)
                assert tar.stdout is not None
                tar.stdout.close()
                tar.wait()
            tmp.rename(blob)
    count_file = blob.with_name(blob.name + ".entries")
    if not count_file.exists():
        flag = {"gzip": ["-z"], "zstd": ["--zstd"], "none": []}[compression]
        listing = subprocess.run(["tar", "-t", *flag, "-f", str(blob)], capture_output=True,
                                 check=True).stdout
        count_file.write_text(str(listing.count(b"\n")))
    return blob, int(count_file.read_text())
