"""The OCI features document (``ketch-runtime features``): what this runtime supports."""

__all__ = ["features_document"]



def features_document() -> dict[str, object]:
    """runtime-spec 1.3 features, read from the tables the runtime itself uses."""
    import os

    from ketch.linux.capabilities import CAPABILITY_NAMES
    from ketch.linux.ns import NAMESPACE_FLAGS
    from ketch.runtime import _mountopts
    from ketch.runtime._seccomp_rules import ACTIONS, ARCHITECTURES, FLAGS, OPERATORS

    mount_options = sorted({*_mountopts._FLAGS, *_mountopts._PROPAGATION, "idmap", "ridmap"})
    apparmor = os.path.exists("/sys/kernel/security/apparmor")
    selinux = os.path.exists("/sys/fs/selinux/enforce")
    return {
        "ociVersionMin": "1.0.0",
        "ociVersionMax": "1.3.0",
        "hooks": [
            "prestart",
            "createRuntime",
            "createContainer",
            "startContainer",
            "poststart",
            "poststop",
        ],
        "mountOptions": mount_options,
        "linux": {
            "namespaces": sorted(NAMESPACE_FLAGS),
            "capabilities": list(CAPABILITY_NAMES),
            "cgroup": {"v1": True, "v2": True, "systemd": False, "systemdUser": False, "rdma": True},
            "seccomp": {
                "enabled": True,
                "actions": sorted(ACTIONS),
                "operators": sorted(OPERATORS),
                "archs": sorted(f"SCMP_ARCH_{a}" for a in ARCHITECTURES),
                "knownFlags": sorted(FLAGS),
                "supportedFlags": sorted(FLAGS),
            },
            "apparmor": {"enabled": apparmor},
            "selinux": {"enabled": selinux},
            "intelRdt": {"enabled": False},
            "mountExtensions": {"idmap": {"enabled": True}},
        },
        "annotations": {"io.github.ketch.runtime.version": "0.1.0"},
    }
