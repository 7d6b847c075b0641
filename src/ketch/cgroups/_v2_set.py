"""Writing ``LinuxResources`` to a cgroup v2 directory (runc's v1 -> v2 conversions)."""

import os

from ketch.cgroups import _files
from ketch.cgroups._convert import blkio_weight_to_io_weight, cpu_shares_to_weight, swap_to_v2
from ketch.errors import FailedPrecondition, NotImplementedByHost, PermissionDenied

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ketch.cgroups.devices import Rule
    from ketch.oci.runtime_spec import CPU, BlockIO, LinuxResources, Memory

__all__ = ["attach_device_filter", "set_v2"]

R = "linux.resources"


def _max(value: int) -> str:
    return "max" if value < 0 else str(value)


def set_v2(path: str, r: "LinuxResources", rules: "list[Rule]") -> None:
    """Write every resource given in ``r``; ``unified`` last, so it can override."""
    _check_controllers(path, r)
    if r.cpu is not None:
        _cpu(path, r.cpu)
    if r.memory is not None:
        _memory(path, r.memory)
    if r.pids is not None:
        _files.write(path, "pids.max", "max" if r.pids.limit <= 0 else str(r.pids.limit))
    if r.block_io is not None:
        _io(path, r.block_io)
    for h in r.hugepage_limits:
        _files.write(path, f"hugetlb.{h.page_size}.max", _max(h.limit))
        if os.path.exists(f"{path}/hugetlb.{h.page_size}.rsvd.max"):
            _files.write(path, f"hugetlb.{h.page_size}.rsvd.max", _max(h.limit))
    if r.rdma:
        from ketch.cgroups._v1_set import rdma_line

        for device, limits in r.rdma.items():
            _files.write(path, "rdma.max", rdma_line(device, limits))
    # r.network: net_cls/net_prio have no v2 counterpart (use eBPF on the network); ignored
    if rules:
        attach_device_filter(path, rules)
    for key, value in (r.unified or {}).items():
        _files.write(path, key, value)


def _check_controllers(path: str, r: "LinuxResources") -> None:
    """Refuse before writing anything when a needed controller is not enabled here."""
    from ketch.cgroups._validate import needed_controllers

    text = _files.read_optional(path, "cgroup.controllers")
    if text is None:
        return
    enabled = set(text.split())
    for controller, what in needed_controllers(r).items():
        name = "io" if controller == "blkio" else controller
        if controller in ("net_cls", "net_prio"):
            continue  # no v2 counterpart: ignored
        if name not in enabled:
            raise NotImplementedByHost(
                f"{what}: the {name} controller is not enabled for {path} "
                f"(cgroup.controllers: {text.strip() or 'none'})"
            )


def _cpu(path: str, cpu: "CPU") -> None:
    if cpu.realtime_period or cpu.realtime_runtime:
        raise NotImplementedByHost(f"{R}.cpu.realtimeRuntime: real-time CPU limits need cgroup v1")
    if cpu.shares:
        _files.write(path, "cpu.weight", str(cpu_shares_to_weight(cpu.shares)))
    quota = cpu.quota or None  # 0 is "unset", as in runc
    if quota is not None or cpu.period:
        if quota is None:  # a new period alone keeps the current quota
            quota_text = (_files.read_optional(path, "cpu.max") or "max").split()[0]
        else:
            quota_text = str(quota) if quota > 0 else "max"
        value = quota_text if not cpu.period else f"{quota_text} {cpu.period}"
        _files.write(path, "cpu.max", value)
    if cpu.burst is not None:
        _files.write(path, "cpu.max.burst", str(cpu.burst))
    if cpu.idle is not None:
        _files.write(path, "cpu.idle", str(cpu.idle))
    if cpu.cpus:
        _files.write(path, "cpuset.cpus", cpu.cpus)
    if cpu.mems:
        _files.write(path, "cpuset.mems", cpu.mems)


def _memory(path: str, m: "Memory") -> None:
    limit = m.limit or 0
    swap = swap_to_v2(m.swap or 0, limit)
    if m.check_before_update and limit > 0:
        usage = _files.read_int(path, "memory.current")
        if limit < usage:
            raise FailedPrecondition(
                f"{R}.memory.limit: {limit} is below the cgroup's current usage {usage}"
            )
    if swap:
        if os.path.exists(f"{path}/memory.swap.max"):
            _files.write(path, "memory.swap.max", _max(swap))
        elif swap != -1:
            raise NotImplementedByHost(
                f"{R}.memory.swap: {path}/memory.swap.max is missing (swap accounting is off)"
            )
    if limit:
        _files.write(path, "memory.max", _max(limit))
    if m.reservation:
        _files.write(path, "memory.low", _max(m.reservation))
    # swappiness, disableOOMKiller, kernel, kernelTCP: no v2 counterpart (as runc: ignored)


def _io(path: str, b: "BlockIO") -> None:
    bfq = os.path.exists(f"{path}/io.bfq.weight")
    if b.weight:
        if bfq:  # BFQ takes the v1 range as is
            _files.write(path, "io.bfq.weight", str(b.weight))
        else:
            _files.write(path, "io.weight", f"default {blkio_weight_to_io_weight(b.weight)}")
    for wd in b.weight_device:
        if wd.weight:
            if bfq:
                _files.write(path, "io.bfq.weight", f"{wd.major}:{wd.minor} {wd.weight}")
            else:
                weight = blkio_weight_to_io_weight(wd.weight)
                _files.write(path, "io.weight", f"{wd.major}:{wd.minor} {weight}")
    for key, devices in (
        ("rbps", b.throttle_read_bps_device),
        ("wbps", b.throttle_write_bps_device),
        ("riops", b.throttle_read_iops_device),
        ("wiops", b.throttle_write_iops_device),
    ):
        for td in devices:
            rate = "max" if td.rate == 0 else str(td.rate)
            _files.write(path, "io.max", f"{td.major}:{td.minor} {key}={rate}")


def attach_device_filter(path: str, rules: "list[Rule]") -> None:
    """Load the eBPF program for ``rules`` and make it the cgroup's only device filter.

    The new program is attached (BPF_F_ALLOW_MULTI) before the old ones are
    detached, so the cgroup is never without a filter.
    """
    from ketch.cgroups._devicefilter import device_filter
    from ketch.linux import bpf

    program = device_filter(rules)
    try:
        dirfd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError as e:
        raise FailedPrecondition(f"cgroup: cannot open {path}: {os.strerror(e.errno or 0)}") from e
    try:
        old = bpf.prog_query(dirfd, bpf.BPF_CGROUP_DEVICE)
        prog = bpf.prog_load(bpf.BPF_PROG_TYPE_CGROUP_DEVICE, program)
        try:
            bpf.prog_attach(dirfd, prog, bpf.BPF_CGROUP_DEVICE, bpf.BPF_F_ALLOW_MULTI)
        finally:
            os.close(prog)
        for prog_id in old:
            fd = bpf.prog_get_fd_by_id(prog_id)
            try:
                bpf.prog_detach(dirfd, fd, bpf.BPF_CGROUP_DEVICE)
            finally:
                os.close(fd)
    except OSError as e:
        import errno

        what = f"cgroup: device filter for {path}: {e.strerror or os.strerror(e.errno or 0)}"
        if e.errno in (errno.EPERM, errno.EACCES):
            raise PermissionDenied(what) from e
        if e.errno in (errno.ENOSYS, errno.EOPNOTSUPP):
            raise NotImplementedByHost(what) from e
        raise FailedPrecondition(what) from e
    finally:
        os.close(dirfd)
