"""mount_rootfs / enter_rootfs on real busybox bundles, each in throw-away namespaces."""

import os
import pty
import stat
from pathlib import Path
from typing import Any

import pytest

from ketch.linux import fs
from ketch.oci.runtime_spec import Config
from ketch.runtime.rootfs import console_bind, enter_rootfs, mount_rootfs, open_idmapped_mounts
from tests.integration.rootfs._harness import in_container, mount_points

from .conftest import MakeBundle

pytestmark = pytest.mark.root


def _mountinfo() -> dict[str, tuple[str, str, str, str]]:
    """mount point -> (options, optional fields, fstype, root), the top mount winning."""
    result = {}
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            sep = fields.index("-")
            result[fields[4]] = (fields[5], " ".join(fields[6:sep]), fields[sep + 1], fields[3])
    return result


def _errno_of(fn: Any) -> int:
    try:
        fn()
    except OSError as e:
        return e.errno or 0
    return 0


def _write(path: str) -> None:
    with open(path, "w") as f:
        f.write("1")


def _enter(bundle: Path, config: Config, premade: dict[int, int] | None = None, **kw: Any) -> str:
    rootfs = mount_rootfs(config, str(bundle), premade=premade)
    enter_rootfs(config, rootfs, **kw)
    return rootfs


def test_default_bundle(make_bundle: MakeBundle) -> None:
    bundle, config = make_bundle()

    def body() -> dict[str, Any]:
        _enter(bundle, config)
        mi = _mountinfo()
        devs = {}
        for name in ("null", "zero", "full", "random", "urandom", "tty"):
            st = os.lstat(f"/dev/{name}")
            devs[name] = [
                stat.S_ISCHR(st.st_mode),
                os.major(st.st_rdev),
                os.minor(st.st_rdev),
                stat.S_IMODE(st.st_mode),
            ]
        links = {n: os.readlink(f"/dev/{n}") for n in ("fd", "stdin", "stdout", "stderr", "ptmx")}
        return {
            "cwd": os.getcwd(),
            "root": sorted(os.listdir("/")),
            "types": {
                p: mi[p][2]
                for p in ("/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue", "/sys")
            },
            "sys_ro": mi["/sys"][0].split(",")[0],
            "shm": mi["/dev/shm"][0],
            "devs": devs,
            "links": links,
            "ptmx": os.path.exists("/dev/pts/ptmx"),
            "root_write": _errno_of(lambda: _write("/newfile")),
            "null_write": _errno_of(lambda: _write("/dev/null")),
            "console": os.path.exists("/dev/console"),
        }

    r = in_container(body).ok()
    assert r["cwd"] == "/"
    assert r["root"] == ["bin", "dev", "etc", "proc", "root", "sbin", "sys", "tmp", "usr", "var"]
    assert r["types"] == {
        "/proc": "proc",
        "/dev": "tmpfs",
        "/dev/pts": "devpts",
        "/dev/shm": "tmpfs",
        "/dev/mqueue": "mqueue",
        "/sys": "sysfs",
    }
    assert r["sys_ro"] == "ro"
    assert {"nosuid", "nodev", "noexec"} <= set(r["shm"].split(","))
    assert r["devs"] == {
        "null": [True, 1, 3, 0o666],
        "zero": [True, 1, 5, 0o666],
        "full": [True, 1, 7, 0o666],
        "random": [True, 1, 8, 0o666],
        "urandom": [True, 1, 9, 0o666],
        "tty": [True, 5, 0, 0o666],
    }
    assert r["links"] == {
        "fd": "/proc/self/fd",
        "stdin": "/proc/self/fd/0",
        "stdout": "/proc/self/fd/1",
        "stderr": "/proc/self/fd/2",
        "ptmx": "pts/ptmx",
    }
    assert r["ptmx"]
    assert r["root_write"] == 30  # EROFS: root.readonly
    assert r["null_write"] == 0
    assert not r["console"]  # no terminal, no placeholder


def test_no_pivot_and_writable_root(make_bundle: MakeBundle) -> None:
    def patch(c: dict[str, Any], _: Path) -> None:
        c["root"]["readonly"] = False

    bundle, config = make_bundle(patch)

    def body() -> list[Any]:
        _enter(bundle, config, no_pivot=True)
        _write("/newfile")
        return [sorted(os.listdir("/")), os.getcwd()]

    root, cwd = in_container(body).ok()
    assert "newfile" in root and "proc" in root and cwd == "/"
    assert (bundle / "rootfs" / "newfile").exists()


@pytest.mark.parametrize("no_pivot", [False, True])
@pytest.mark.parametrize(
    "propagation",
    ["private", "rprivate", "slave", "rslave", "shared", "rshared", "unbindable", "runbindable"],
)
def test_rootfs_propagation(make_bundle: MakeBundle, propagation: str, no_pivot: bool) -> None:
    def patch(c: dict[str, Any], _: Path) -> None:
        c["linux"]["rootfsPropagation"] = propagation

    bundle, config = make_bundle(patch)

    def body() -> str:
        from ketch.linux.mount import mount

        _enter(bundle, config, no_pivot=no_pivot)
        mount("tmpfs", "/tmp", "tmpfs", 0, "size=64k")  # made inside: must not reach the host
        return _mountinfo()["/"][1]

    # the "host" is rshared like a systemd host; .ok() checks nothing appeared on it
    optional = in_container(body, shared_host=True).ok()
    if "shared" in propagation:
        assert "shared:" in optional
    elif "unbindable" in propagation:
        assert "unbindable" in optional
    elif "slave" in propagation:
        assert "master:" in optional
    else:
        assert optional == ""


def test_bind_mount_options(make_bundle: MakeBundle, tmp_path: Path) -> None:
    data = tmp_path / "data"
    (data / "sub").mkdir(parents=True)
    (data / "file").write_text("hello")
    (data / "link").symlink_to("file")
    (tmp_path / "single").write_text("single file")

    def patch(c: dict[str, Any], _: Path) -> None:
        c["root"]["readonly"] = False
        c["mounts"] += [
            {
                "destination": "/data",
                "type": "bind",
                "source": str(data),
                "options": ["rbind", "ro", "nosuid", "nodev", "noexec", "noatime"],
            },
            {"destination": "/rw", "source": str(data), "options": ["rbind", "rw"]},
            {
                "destination": "/deep/er/file",
                "type": "none",
                "source": "../single",
                "options": ["bind", "ro"],
            },
            {"destination": "/rdata", "source": str(data), "options": ["rbind", "rro"]},
            {"destination": "/plain", "source": str(data), "options": ["rbind"]},
            {"destination": "/nofollow", "source": str(data), "options": ["rbind", "nosymfollow"]},
        ]

    bundle, config = make_bundle(patch)

    def body() -> dict[str, Any]:
        # a submount inside the source, made in the container's namespace before the rootfs
        from ketch.linux.mount import mount

        mount("tmpfs", str(data / "sub"), "tmpfs", 0, "size=1m")
        _enter(bundle, config)
        mi = _mountinfo()
        return {
            "data": mi["/data"][0],
            "data_sub": mi["/data/sub"][0],
            "read": open("/data/file").read(),
            "write_ro": _errno_of(lambda: _write("/data/x")),
            "write_rw": _errno_of(lambda: _write("/rw/x")),
            "file": [open("/deep/er/file").read(), mi["/deep/er/file"][0].split(",")[0]],
            "rdata": [mi["/rdata"][0].split(",")[0], mi["/rdata/sub"][0].split(",")[0]],
            "rdata_sub_write": _errno_of(lambda: _write("/rdata/sub/x")),
            "plain": mi["/plain"][0].split(",")[0],
            "follow": [
                open("/plain/link").read(),
                _errno_of(lambda: open("/nofollow/link").read()),
            ],
        }

    r = in_container(body).ok()
    assert set(r["data"].split(",")) >= {"ro", "nosuid", "nodev", "noexec", "noatime"}
    assert r["data_sub"].split(",")[0] == "rw"  # plain ro is not recursive...
    assert r["read"] == "hello" and r["write_ro"] == 30
    assert r["write_rw"] == 0 and (data / "x").exists()
    assert r["file"] == ["single file", "ro"]
    assert r["rdata"] == ["ro", "ro"]  # ...rro is
    assert r["rdata_sub_write"] == 30
    assert r["plain"] == "rw"
    assert r["follow"] == ["hello", 40]  # ELOOP under nosymfollow


def test_bind_propagation_options(make_bundle: MakeBundle, tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()

    def patch(c: dict[str, Any], _: Path) -> None:
        c["mounts"] += [
            {
                "destination": "/a",
                "type": "bind",
                "source": str(tmp_path / "a"),
                "options": ["rbind", "rshared"],
            },
            {
                "destination": "/b",
                "type": "bind",
                "source": str(tmp_path / "b"),
                "options": ["rbind", "runbindable"],
            },
        ]

    bundle, config = make_bundle(patch)

    def body() -> list[str]:
        _enter(bundle, config)
        mi = _mountinfo()
        return [mi["/a"][1], mi["/b"][1]]

    a, b = in_container(body).ok()
    assert "shared:" in a
    assert "unbindable" in b


def test_tmpfs_data_and_copyup(make_bundle: MakeBundle) -> None:
    def patch(c: dict[str, Any], rootfs: Path) -> None:
        (rootfs / "etc" / "sub").mkdir()
        (rootfs / "etc" / "sub" / "f").write_text("deep")
        os.symlink("passwd", rootfs / "etc" / "pw")
        c["mounts"] += [
            {
                "destination": "/scratch",
                "type": "tmpfs",
                "source": "tmpfs",
                "options": ["mode=0710", "size=1m", "nosuid"],
            },
            {
                "destination": "/etc",
                "type": "tmpfs",
                "source": "tmpfs",
                "options": ["tmpcopyup", "mode=755"],
            },
        ]

    bundle, config = make_bundle(patch)

    def body() -> dict[str, Any]:
        _enter(bundle, config)
        sv = os.statvfs("/scratch")
        fd = os.open("/etc", os.O_PATH)
        return {
            "mode": stat.S_IMODE(os.stat("/scratch").st_mode),
            "size": sv.f_blocks * sv.f_frsize,
            "etc_type": fs.fstatfs_type(fd) == fs.TMPFS_MAGIC,
            "passwd": open("/etc/passwd").read().splitlines()[0],
            "deep": open("/etc/sub/f").read(),
            "link": os.readlink("/etc/pw"),
        }

    r = in_container(body).ok()
    assert r["mode"] == 0o710 and r["size"] == 1 << 20
    assert r["etc_type"]
    assert r["passwd"].startswith("root:x:0:0")
    assert r["deep"] == "deep" and r["link"] == "passwd"


def test_configured_devices(make_bundle: MakeBundle) -> None:
    def patch(c: dict[str, Any], _: Path) -> None:
        c["linux"]["devices"] = [
            {
                "type": "c",
                "path": "/dev/fuse",
                "major": 10,
                "minor": 229,
                "fileMode": 0o600,
                "uid": 1000,
                "gid": 1001,
            },
            {"type": "b", "path": "/dev/sub/loop7", "major": 7, "minor": 7, "fileMode": 0o640},
            {"type": "u", "path": "/dev/kmsg", "major": 1, "minor": 11},
            {"type": "p", "path": "/dev/fifo", "fileMode": 0o620},
            {"type": "c", "path": "/dev/null", "major": 1, "minor": 3, "fileMode": 0o600},
        ]

    bundle, config = make_bundle(patch)

    def body() -> dict[str, list[int]]:
        _enter(bundle, config)
        out = {}
        for p in (
            "/dev/fuse",
            "/dev/sub/loop7",
            "/dev/kmsg",
            "/dev/fifo",
            "/dev/null",
            "/dev/zero",
        ):
            st = os.lstat(p)
            out[p] = [
                stat.S_IFMT(st.st_mode),
                os.major(st.st_rdev),
                os.minor(st.st_rdev),
                stat.S_IMODE(st.st_mode),
                st.st_uid,
                st.st_gid,
            ]
        return out

    r = in_container(body).ok()
    assert r["/dev/fuse"] == [stat.S_IFCHR, 10, 229, 0o600, 1000, 1001]
    assert r["/dev/sub/loop7"] == [stat.S_IFBLK, 7, 7, 0o640, 0, 0]
    assert r["/dev/kmsg"] == [stat.S_IFCHR, 1, 11, 0o666, 0, 0]
    assert r["/dev/fifo"][0] == stat.S_IFIFO and r["/dev/fifo"][3] == 0o620
    assert r["/dev/null"][3] == 0o600  # the configured entry replaces the default
    assert r["/dev/zero"][:3] == [stat.S_IFCHR, 1, 5]


@pytest.mark.parametrize(
    ("patch", "kind", "named"),
    [
        (lambda c: c["linux"].update(devices=[{"type": "c", "path": "/dev/x"}]), "InvalidArgument", "linux.devices[0]"),
        (lambda c: c["linux"].update(devices=[{"type": "q", "path": "/x/y", "major": 1, "minor": 1}]), "InvalidArgument", "linux.devices[0].type"),
        (lambda c: c["mounts"].append({"destination": "/x", "type": "tmpfs", "options": ["size=1\u0000"]}), "InvalidArgument", "mounts[7].options"),
        (lambda c: c["mounts"].append({"destination": "/x", "options": ["rbind"]}), "InvalidArgument", "mounts[7].source"),
        (lambda c: c["mounts"].append({"destination": "/x", "options": ["ro"]}), "InvalidArgument", "mounts[7]: no type"),
        (lambda c: c["mounts"].append({"destination": "/x", "type": "bind", "source": "/nonexistent/src", "options": ["rbind"]}), "NotFound", "mounts[7].source /nonexistent/src"),
        (lambda c: c["linux"].update(rootfsPropagation="sideways"), "InvalidArgument", "linux.rootfsPropagation"),
    ],
)  # fmt: skip
def test_bad_entries_are_named(make_bundle: MakeBundle, patch: Any, kind: str, named: str) -> None:
    bundle, config = make_bundle(lambda c, _: patch(c))
    listing = sorted(os.listdir(bundle / "rootfs"))

    def body() -> list[Any]:
        before = mount_points()
        try:
            mount_rootfs(config, str(bundle))
        except Exception as e:
            return [type(e).__name__, str(e), mount_points() != before]
        return ["no error"]

    err_kind, message, *rest = in_container(body).ok()
    assert err_kind == kind and named in message
    if kind == "InvalidArgument":  # refused before any change
        assert rest == [False]
    assert sorted(os.listdir(bundle / "rootfs")) == listing


def test_masked_and_readonly_paths(make_bundle: MakeBundle) -> None:
    assert Path("/proc/keys").read_bytes() and Path("/proc/timer_list").read_bytes()
    assert os.listdir("/sys/firmware")
    bundle, config = make_bundle(
        lambda c, _: c["linux"]["maskedPaths"].append("/proc/does/not/exist")
    )

    def body() -> dict[str, Any]:
        _enter(bundle, config)
        return {
            "keys": open("/proc/keys", "rb").read().decode(),
            "timer_list": open("/proc/timer_list", "rb").read().decode(),
            "kcore": os.path.exists("/proc/kcore") and open("/proc/kcore", "rb").read(16).decode(),
            "firmware": os.listdir("/sys/firmware"),
            "firmware_write": _errno_of(lambda: os.mkdir("/sys/firmware/x")),
            "sys": _errno_of(lambda: _write("/proc/sys/kernel/hostname")),
            "sysrq": _errno_of(lambda: _write("/proc/sysrq-trigger")),
            "proc_self": os.path.exists("/proc/self/status"),
        }

    r = in_container(body).ok()
    assert r["keys"] == "" and r["timer_list"] == ""
    assert r["kcore"] in (False, "")
    assert r["firmware"] == [] and r["firmware_write"] == 30
    assert r["sys"] == 30  # EROFS
    assert r["sysrq"] == (30 if os.path.exists("/proc/sysrq-trigger") else 2)
    assert r["proc_self"]


def test_console_placeholder_and_bind(make_bundle: MakeBundle) -> None:
    bundle, config = make_bundle(lambda c, _: c["process"].update(terminal=True))

    def body() -> list[Any]:
        _master, slave = pty.openpty()
        rootfs = mount_rootfs(config, str(bundle))
        placeholder = stat.S_ISREG(os.stat(os.path.join(rootfs, "dev/console")).st_mode)
        console_bind(rootfs, os.ttyname(slave))
        enter_rootfs(config, rootfs)
        return [placeholder, os.stat("/dev/console").st_rdev == os.fstat(slave).st_rdev]

    assert in_container(body).ok() == [True, True]


def test_cgroup_mount_with_namespace(make_bundle: MakeBundle) -> None:
    bundle, config = make_bundle()

    def body() -> dict[str, Any]:
        _enter(bundle, config)
        mi = _mountinfo()
        cg = {p: v for p, v in mi.items() if p.startswith("/sys/fs/cgroup")}
        return {
            "types": sorted({v[2] for v in cg.values()}),
            "ro": sorted({v[0].split(",")[0] for v in cg.values()}),
            "roots": sorted({v[3] for p, v in cg.items() if v[2].startswith("cgroup")}),
            "mkdir": _errno_of(lambda: os.mkdir("/sys/fs/cgroup/pids/x")),
            "procs": os.path.exists("/sys/fs/cgroup/pids/cgroup.procs"),
        }

    host = {mi for mi in mount_points() if mi.startswith("/sys/fs/cgroup")}
    r = in_container(body).ok()
    assert r["ro"] == ["ro"] and r["mkdir"] == 30 and r["procs"]
    assert r["roots"] == ["/"]  # rooted at the namespace's cgroup
    if "/sys/fs/cgroup/pids" in host:
        assert r["types"] == sorted(
            {"tmpfs", "cgroup"} | ({"cgroup2"} if "/sys/fs/cgroup/unified" in host else set())
        )


def test_cgroup_mount_without_namespace_binds_own_subtree(make_bundle: MakeBundle) -> None:
    def patch(c: dict[str, Any], _: Path) -> None:
        c["linux"]["namespaces"] = [n for n in c["linux"]["namespaces"] if n["type"] != "cgroup"]

    bundle, config = make_bundle(patch)
    own = {}
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, ctrl, path = line.split(":", 2)
        own[ctrl] = path
    if "memory" not in own or not Path("/sys/fs/cgroup/memory").is_dir():
        pytest.skip("needs a cgroup v1 memory hierarchy")

    def body() -> str:
        _enter(bundle, config)
        return _mountinfo()["/sys/fs/cgroup/memory"][3]

    assert in_container(body, cgroupns=False).ok() == own["memory"]


def test_user_namespace(make_bundle: MakeBundle, tmp_path: Path) -> None:
    """In a user namespace mknod is refused (devices are bound from the host) and flags the
    host set on a source are locked (a bind remount must keep them)."""
    data = tmp_path / "data"
    data.mkdir()

    def patch(c: dict[str, Any], _: Path) -> None:
        c["linux"]["namespaces"].append({"type": "user"})
        c["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 0, "size": 65536}]
        c["linux"]["gidMappings"] = [{"containerID": 0, "hostID": 0, "size": 65536}]
        c["linux"]["devices"] = [{"type": "c", "path": "/dev/net/tun", "major": 10, "minor": 200}]
        c["mounts"].append(
            {
                "destination": "/data",
                "type": "bind",
                "source": str(data),
                "options": ["rbind", "ro"],
            }
        )

    bundle, config = make_bundle(patch)

    def host_setup() -> None:
        # on the "host" the source is nosuid,nodev: flags locked for the user namespace
        from ketch.linux.mount import MS_BIND, MS_NODEV, MS_NOSUID, MS_REMOUNT, mount

        mount(str(data), str(data), None, MS_BIND)
        mount(None, str(data), None, MS_BIND | MS_REMOUNT | MS_NOSUID | MS_NODEV)

    def body() -> dict[str, Any]:
        mknod = _errno_of(
            lambda: os.mknod(str(tmp_path / "n"), stat.S_IFCHR | 0o600, os.makedev(1, 3))
        )
        _enter(bundle, config)
        mi = _mountinfo()
        return {
            "mknod": mknod,
            "null": [
                os.major(os.stat("/dev/null").st_rdev),
                os.minor(os.stat("/dev/null").st_rdev),
            ],
            "null_is_bind": "/dev/null" in mi,
            "tun": os.path.exists("/dev/net/tun") and os.major(os.stat("/dev/net/tun").st_rdev),
            "data": sorted(mi["/data"][0].split(",")),
            "proc_sys": _errno_of(lambda: _write("/proc/sys/kernel/hostname")),
            "keys": open("/proc/keys").read(),
        }

    r = in_container(body, userns=True, host_setup=host_setup).ok()
    assert r["mknod"] == 1  # EPERM: the bind fallback is what is tested
    assert r["null"] == [1, 3] and r["null_is_bind"]
    assert r["tun"] in (10, False)  # bound when the host has /dev/net/tun
    assert {"ro", "nosuid", "nodev"} <= set(r["data"])
    assert r["proc_sys"] == 30 and r["keys"] == ""


def test_idmapped_bind_mounts(make_bundle: MakeBundle, tmp_path: Path) -> None:
    data = tmp_path / "data"
    (data / "sub").mkdir(parents=True)
    (data / "root-file").write_text("r")
    (data / "user-file").write_text("u")
    os.chown(data / "user-file", 1000, 1000)
    maps = {
        "uidMappings": [{"containerID": 0, "hostID": 5000, "size": 2000}],
        "gidMappings": [{"containerID": 0, "hostID": 7000, "size": 2000}],
    }

    def patch(c: dict[str, Any], _: Path) -> None:
        c["mounts"] += [
            {
                "destination": "/idmap",
                "type": "bind",
                "source": str(data),
                "options": ["rbind", "idmap"],
                **maps,
            },
            {
                "destination": "/ridmap",
                "type": "bind",
                "source": str(data),
                "options": ["rbind", "ridmap", "ro"],
                **maps,
            },
        ]

    bundle, config = make_bundle(patch)

    def body() -> dict[str, Any]:
        from ketch.linux.mount import mount

        mount("tmpfs", str(data / "sub"), "tmpfs", 0, "size=64k")  # a submount (owned by 0)
        _enter(bundle, config)

        def owner(p: str) -> list[int]:
            st = os.stat(p)
            return [st.st_uid, st.st_gid]

        return {
            p: owner(p)
            for p in (
                "/idmap/root-file",
                "/idmap/user-file",
                "/idmap/sub",
                "/ridmap/user-file",
                "/ridmap/sub",
            )
        } | {"ro": _errno_of(lambda: _write("/ridmap/x"))}

    r = in_container(body).ok()
    assert r["/idmap/root-file"] == [5000, 7000]
    assert r["/idmap/user-file"] == [6000, 8000]
    assert r["/idmap/sub"] == [0, 0]  # idmap: the top mount only
    assert r["/ridmap/user-file"] == [6000, 8000]
    assert r["/ridmap/sub"] == [5000, 7000]  # ridmap: submounts too
    assert r["ro"] == 30
    assert os.stat(data / "user-file").st_uid == 1000  # the source itself is unchanged


def test_idmap_without_mappings_is_named(make_bundle: MakeBundle, tmp_path: Path) -> None:
    def patch(c: dict[str, Any], _: Path) -> None:
        c["mounts"].append(
            {
                "destination": "/x",
                "type": "bind",
                "source": str(tmp_path),
                "options": ["bind", "idmap"],
            }
        )

    bundle, config = make_bundle(patch)
    out = in_container(lambda: mount_rootfs(config, str(bundle)))
    assert out.error is not None and out.leaks == []
    assert out.error["type"] == "InvalidArgument" and "mounts[7]" in out.error["message"]


def test_masks_and_console_without_proc(make_bundle: MakeBundle) -> None:
    """After the pivot nothing relies on the container's /proc (open_tree/move_mount by fd)."""

    def patch(c: dict[str, Any], _: Path) -> None:
        c["mounts"] = [x for x in c["mounts"] if x["type"] != "proc"]
        c["linux"]["readonlyPaths"].append("/etc")
        c["process"]["terminal"] = True

    bundle, config = make_bundle(patch)

    def body() -> dict[str, Any]:
        _enter(bundle, config)
        _master, slave = pty.openpty()  # from the container's own devpts, as the init does
        console_bind(None, slave)
        return {
            "proc": os.listdir("/proc"),
            "firmware": os.listdir("/sys/firmware"),
            "etc": _errno_of(lambda: _write("/etc/passwd")),
            "console": os.stat("/dev/console").st_rdev == os.fstat(slave).st_rdev,
        }

    r = in_container(body).ok()
    assert r == {"proc": [], "firmware": [], "etc": 30, "console": True}


def test_idmapped_mount_made_on_the_host_for_a_user_namespace(
    make_bundle: MakeBundle, tmp_path: Path
) -> None:
    """In a user namespace the init may not idmap a host filesystem: the runtime makes the
    detached idmapped mount on the host side and the init attaches it."""
    data = tmp_path / "data"
    data.mkdir()
    (data / "f").write_text("x")
    os.chown(data / "f", 1000, 1000)

    def patch(c: dict[str, Any], _: Path) -> None:
        c["linux"]["namespaces"].append({"type": "user"})
        c["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 0, "size": 65536}]
        c["linux"]["gidMappings"] = [{"containerID": 0, "hostID": 0, "size": 65536}]
        c["mounts"].append(
            {
                "destination": "/shifted",
                "type": "bind",
                "source": str(data),
                "options": ["rbind", "idmap", "ro"],
                "uidMappings": [{"containerID": 1000, "hostID": 2000, "size": 1}],
                "gidMappings": [{"containerID": 1000, "hostID": 3000, "size": 1}],
            }
        )

    bundle, config = make_bundle(patch)
    premade: dict[int, int] = {}

    def host_setup() -> None:
        premade.update(open_idmapped_mounts(config, str(bundle)))

    inline = in_container(lambda: mount_rootfs(config, str(bundle)), userns=True)
    assert inline.error is not None and inline.leaks == []
    assert inline.error["type"] == "PermissionDenied" and "mounts[7]" in inline.error["message"]

    def body() -> dict[str, Any]:
        _enter(bundle, config, premade=premade)
        st = os.stat("/shifted/f")
        return {
            "premade": sorted(premade),
            "owner": [st.st_uid, st.st_gid],
            "ro": _errno_of(lambda: _write("/shifted/y")),
        }

    r = in_container(body, userns=True, host_setup=host_setup).ok()
    assert r == {"premade": [7], "owner": [2000, 3000], "ro": 30}
