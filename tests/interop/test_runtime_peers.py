"""containerd and podman drive ketch-runtime exactly as they drive runc.

Each peer gets its own state directories under tmp_path (containerd also its own
network namespace); finalizers stop the daemons and remove what they left: the
host ends as it was found.
"""

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.bundle import busybox_rootfs

pytestmark = [pytest.mark.root, pytest.mark.interop]

KETCH_RUNTIME = str(Path(sys.executable).parent / "ketch-runtime")
CGROUP_ROOT = "/sys/fs/cgroup"


def _remove_cgroup(path: str) -> None:
    """rmdir ``path`` (and its empty sub-cgroups) in every hierarchy; a peer's helper
    (podman's conmon after a failed start) may take a moment to leave: retried ~5 s."""
    for _ in range(50):
        left = False
        for controller in os.listdir(CGROUP_ROOT):
            top = f"{CGROUP_ROOT}/{controller}{path}"
            if not os.path.isdir(top):
                continue
            for dirpath, _, _ in sorted(os.walk(top), key=lambda w: -len(w[0])):
                with contextlib.suppress(OSError):
                    os.rmdir(dirpath)
            left = left or os.path.isdir(top)
        if not left:
            return
        time.sleep(0.1)


@pytest.fixture
def rootfs(tmp_path: Path) -> Path:
    return busybox_rootfs(tmp_path / "rootfs")


@pytest.fixture
def containerd(tmp_path: Path) -> Iterator[Path]:
    binary = shutil.which("containerd")
    if binary is None or shutil.which("ctr") is None or shutil.which("containerd-shim-runc-v2") is None:
        pytest.skip("containerd, ctr or containerd-shim-runc-v2 is not installed")
    base = tmp_path / "containerd"
    base.mkdir()
    socket = base / "containerd.sock"
    config = base / "config.toml"
    config.write_text(
        f"""version = 2
root = "{base}/root"
state = "{base}/state"
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.aufs"]
[grpc]
  address = "{socket}"
[ttrpc]
  address = "{base}/containerd-ttrpc.sock"
[debug]
  address = ""
[metrics]
  address = ""
"""
    )
    log = open(base / "containerd.log", "wb")  # noqa: SIM115 (closed in the finalizer)
    # its own network namespace, and a private tmpfs on /run: containerd 1.6 keeps shim
    # sockets under /run/containerd/s whatever its config (ctr's FIFOs go to --fifo-dir)
    daemon = subprocess.Popen(
        [*_PRIVATE_RUN, binary, "--config", str(config)], stdout=log, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + 20
        while not socket.exists():
            if daemon.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"containerd did not start: {(base / 'containerd.log').read_text()[-2000:]}")
            time.sleep(0.05)
        yield socket
    finally:
        daemon.send_signal(signal.SIGTERM)
        try:
            daemon.wait(20)
        except subprocess.TimeoutExpired:
            daemon.kill()
            daemon.wait()
        log.close()


_PRIVATE_RUN = [
    "unshare", "--net", "--mount", "--propagation", "private",
    "sh", "-c", 'mount -t tmpfs tmpfs /run && exec "$0" "$@"',
]  # fmt: skip


def _ctr(socket: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    if args[:1] == ("run",) or args[:2] == ("task", "exec"):  # FIFOs next to the socket, not in /run
        n = 1 if args[0] == "run" else 2
        args = (*args[:n], "--fifo-dir", str(socket.parent / "fifo"), *args[n:])
    return subprocess.run(
        ["ctr", "--address", str(socket), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_containerd_runs_a_container_through_ketch_runtime(
    containerd: Path, rootfs: Path, tmp_path: Path
) -> None:
    cid = f"ketch{uuid.uuid4().hex[:8]}"
    cgroup = f"/ketch-interop-{cid}"
    runc_root = tmp_path / "runc-root"
    common = ["--runc-binary", KETCH_RUNTIME, "--runc-root", str(runc_root), "--cgroup", cgroup]
    try:
        fg = _ctr(containerd, "run", "--rm", *common, "--rootfs", str(rootfs), cid, "sh", "-c", "echo pid=$$; exit 5")
        assert fg.returncode == 5, fg.stderr
        assert fg.stdout.strip() == "pid=1"
        started = _ctr(containerd, "run", "-d", *common, "--rootfs", str(rootfs), cid, "sleep", "60")
        assert started.returncode == 0, started.stderr
        tasks = _ctr(containerd, "task", "ls").stdout
        assert cid in tasks and "RUNNING" in tasks
        ex = _ctr(containerd, "task", "exec", "--exec-id", "e1", cid, "sh", "-c", "echo $$; exit 6")
        assert ex.returncode == 6, ex.stderr
        assert int(ex.stdout.strip()) > 1
        assert _ctr(containerd, "task", "pause", cid).returncode == 0
        assert "PAUSED" in _ctr(containerd, "task", "ls").stdout
        assert _ctr(containerd, "task", "resume", cid).returncode == 0
        metrics = _ctr(containerd, "task", "metrics", cid)
        assert metrics.returncode == 0 and "memory.usage_in_bytes" in metrics.stdout
        assert _ctr(containerd, "task", "kill", "-s", "KILL", cid).returncode == 0
        deadline = time.monotonic() + 10
        while "STOPPED" not in _ctr(containerd, "task", "ls").stdout and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _ctr(containerd, "task", "rm", cid).returncode == 0
        assert _ctr(containerd, "container", "rm", cid).returncode == 0
        assert not any((runc_root / "default").iterdir())
    finally:
        _ctr(containerd, "task", "kill", "-s", "KILL", cid)
        _ctr(containerd, "task", "rm", "-f", cid)
        _ctr(containerd, "container", "rm", cid)
        _remove_cgroup(cgroup)


@pytest.fixture
def short_dir() -> Iterator[Path]:
    """podman refuses a --runroot longer than 50 characters: pytest's are longer."""
    path = Path(tempfile.mkdtemp(prefix="kp-", dir="/tmp"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def test_podman_runs_a_rootfs_through_ketch_runtime(rootfs: Path, short_dir: Path) -> None:
    podman = shutil.which("podman")
    if podman is None:
        pytest.skip("podman is not installed")
    parent = f"/ketch-podman-{uuid.uuid4().hex[:8]}"
    base = [
        *_PRIVATE_RUN,  # podman writes /run/containers/networks even with --network none
        podman,
        "--root", str(short_dir / "root"),
        "--runroot", str(short_dir / "run"),
        "--tmpdir", str(short_dir / "tmp"),
        "--runtime", KETCH_RUNTIME,
        "--cgroup-manager=cgroupfs",
        "--events-backend=file",
    ]  # fmt: skip
    run_flags = [
        "--rm",
        "--network", "none",
        "--cgroup-parent", parent,
        "--ulimit", "nofile=20000:20000",
        "--ulimit", "nproc=32768:32768",
    ]  # fmt: skip
    try:
        result = subprocess.run(
            [*base, "run", *run_flags, "--rootfs", str(rootfs), "sh", "-c", "echo pid=$$; hostname >/dev/null; exit 4"],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode == 4, result.stderr
        assert result.stdout.strip() == "pid=1"
        ok = subprocess.run(
            [*base, "run", *run_flags, "--rootfs", str(rootfs), "true"],
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        assert ok.returncode == 0, ok.stderr
    finally:
        subprocess.run([*base, "rm", "--all", "--force"], capture_output=True, timeout=120, check=False)
        _remove_cgroup(parent)
