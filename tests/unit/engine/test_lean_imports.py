"""``ketch run`` stays lean up to the monitor's fork, and the monitor after it.

What the client imports before ``_prefork`` forks is paid once on the critical
path; what either side imports after it is paid again there.  These run the
real CLI in a fresh interpreter with ``os.fork`` replaced by a probe that lists
the heavy modules already loaded and exits, so nothing is created.
"""

import os
import subprocess
import sys
from pathlib import Path

import ketch

# stdlib modules a container start needs on neither side (the engine has ketch.oci._json,
# try/except and small classes instead of contextlib, __import__, its own tree removal,
# _attach's sockets on _socket, _signal, an epoll loop)
HEAVY = ("json", "re", "enum", "contextlib", "importlib", "warnings", "shutil", "pathlib",
         "typing", "signal", "socket", "selectors", "termios", "subprocess", "dataclasses",
         "hashlib", "fnmatch", "bz2", "lzma", "argparse", "threading", "locale", "tempfile",
         "inspect", "logging")  # fmt: skip
# and before the fork (the monitor's runtime imports them: ketch.linux.seccomp)
BEFORE_FORK = (*HEAVY, "collections", "functools", "operator")

_SRC = os.path.dirname(os.path.dirname(ketch.__file__))


def _heavy_loaded(code: str, *args: str, heavy: tuple[str, ...] = HEAVY) -> list[str]:
    """Run ``code`` in ``python -S``; the heavy modules its last output line lists."""
    probe = (
        "import sys\n"
        f"sys.path.insert(0, {_SRC!r})\n"
        f"HEAVY = {heavy!r}\n"
        "def loaded():\n"
        "    return ' '.join(m for m in HEAVY if m in sys.modules)\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("KETCH_RUNTIME_EXEC", "KETCH_MONITOR")}
    result = subprocess.run(
        [sys.executable, "-S", "-c", probe + code, *args],
        capture_output=True, text=True, check=False, timeout=60, env=env,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines, result.stderr  # the probe ran
    return lines[-1].split()


def test_run_imports_nothing_heavy_before_the_monitor_fork(tmp_path: Path) -> None:
    code = (
        "import os\n"
        "def fork():\n"
        "    print('forked: ' + loaded(), flush=True)\n"
        "    os._exit(0)\n"
        "os.fork = fork\n"
        "from ketch.cli import main\n"
        "main(['--root', sys.argv[1], 'run', '--rm', 'busybox', 'true'])\n"
        "print('no fork')\n"
    )
    # the early monitor is forked before the image is looked up (none here)
    assert _heavy_loaded(code, str(tmp_path / "root"), heavy=BEFORE_FORK) == ["forked:"]


def test_monitor_imports_nothing_heavy() -> None:
    code = (
        "from ketch.engine import _monitor\n"
        "_monitor._preload()\n"
        "_monitor._preload(_monitor._EXIT_MODULES)\n"
        # the caller's side after the fork: create, start, the --rm exit
        "import ketch.engine._create, ketch.engine._spec, ketch.engine._user\n"
        "import ketch.engine._imagecache, ketch.engine._names, ketch.engine._jsonlog\n"
        "import ketch.snapshots._overlay, ketch.snapshots.mount, ketch.engine._files\n"
        "print(loaded())\n"
    )
    assert _heavy_loaded(code) == []
