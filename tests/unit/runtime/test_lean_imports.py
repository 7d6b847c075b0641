"""The start path stays lean: ``ketch-runtime run`` imports no heavy or unused module."""

import subprocess
import sys

HEAVY = ("argparse", "json", "subprocess", "re", "enum", "signal", "socket", "typing",
         "dataclasses", "logging", "threading", "contextlib", "fastjsonschema", "decimal",
         "shutil", "tempfile", "inspect", "asyncio", "aiohttp")  # fmt: skip


def test_run_path_imports_nothing_heavy() -> None:
    code = (
        "import sys\n"
        "import ketch.runtime_cli, ketch.runtime_cli._v_run, ketch.runtime._warm\n"
        "import ketch.runtime.run, ketch.runtime.create, ketch.oci.validate\n"
        "import ketch.oci._runtime_config_validator\n"
        f"print(' '.join(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.split() == []
