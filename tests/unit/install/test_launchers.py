"""The console scripts scripts/setup writes (scripts/write-launchers): python -S, same behaviour."""

import subprocess
import sys
from pathlib import Path

import pytest

BIN = Path(sys.prefix) / "bin"


def _launcher(name: str) -> Path:
    path = BIN / name
    if not path.exists() or " -S" not in path.read_text().splitlines()[0]:
        pytest.skip(f"{path}: not a launcher written by scripts/write-launchers")
    return path


@pytest.mark.parametrize(("name", "expected"), [("ketch-runtime", "ketch-runtime version"), ("ketch", "Version")])
def test_the_launchers_run_their_command(name: str, expected: str) -> None:
    result = subprocess.run([str(_launcher(name)), "--version"], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert expected in result.stdout


def test_the_launcher_skips_site_and_finds_the_dependencies_and_the_bundle() -> None:
    launcher = _launcher("ketch")
    code = (
        "import sys, aiohttp, ketch.cli\n"
        "print(sys.flags.no_site, 'site' in sys.modules, type(ketch.cli.__loader__).__name__)"
    )
    # the launcher's own lines up to its command's import, then a probe
    lines = launcher.read_text().splitlines()
    end = next(i for i, line in enumerate(lines) if line.startswith("from ketch.cli "))
    probe = "\n".join([*lines[:end], code])
    result = subprocess.run(
        [lines[0][2:].split()[0], "-S", "-c", probe], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    # BundleFinder: ketch.cli came from the bundle (SourceFileLoader if edited since setup)
    assert result.stdout.split() == ["1", "False", "BundleFinder"]
