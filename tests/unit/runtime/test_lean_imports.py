"""The start path stays lean: ``ketch-runtime run`` imports no heavy or unused module."""

import subprocess
import sys

HEAVY = ("argparse", "json", "subprocess", "re", "enum", "signal", "socket", "typing",
         "dataclasses", "logging", "threading", "contextlib", "fastjsonschema", "decimal",
         "shutil", "tempfile", "inspect", "asyncio", "aiohttp",
         "collections", "functools", "operator")  # fmt: skip


def test_run_path_imports_nothing_heavy() -> None:
    code = (
        "import sys\n"
        "import ketch.runtime_cli, ketch.runtime_cli._v_run\n"
        "import ketch.runtime.run, ketch.runtime.create, ketch.oci.validate\n"
        "import ketch.oci._runtime_config_validator\n"
        # what create imports (runtime._init.preload) and the cgroup manager before the fork
        "import ketch.runtime.rootfs, ketch.runtime.process, ketch.runtime._rootfs_cgroup\n"
        "import ketch.linux.mountinfo, ketch.runtime.delete, ketch.runtime.start\n"
        "import ketch.cgroups, ketch.cgroups._v1, ketch.cgroups._v1_set, ketch.cgroups._v2\n"
        "import ketch.cgroups._v2_set, ketch.cgroups.devices, ketch.cgroups._validate\n"
        "import ketch.cgroups._join, ketch.linux.clone\n"
        # a seccomp section (podman's and containerd's default profiles have one)
        "import ketch.linux.seccomp, ketch.runtime._process_seccomp, ketch.runtime._seccomp_rules\n"
        f"print(' '.join(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.split() == []
