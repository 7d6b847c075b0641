"""One cgroup manager interface over cgroup v1, v2 (unified) and hybrid hosts.

    mode = detect()                                   # "v1" | "v2" | "hybrid" + mounts
    cg = open_manager(config.linux.cgroups_path, container_id, mode=mode)
    cg.create(); cg.set(resources)
    join = cg.open_join(); pid = join.fork()          # child: join.enter(); parent: join.finish(pid)
    cg.freeze(); cg.thaw(); cg.stats(); cg.kill_all(signal.SIGKILL); cg.destroy()

Paths follow runc: absolute under each hierarchy's root, relative under the
runtime's own cgroup, none as ``/ketch/<id>``.  On hybrid hosts the controllers
are v1 and the process also joins the (controller-less) cgroup2 hierarchy.
The device rules a container needs are ``devices.container_device_rules(linux)``;
statistics records and their runc-shaped JSON are in ``ketch.cgroups.stats``.
"""

from ketch.cgroups._join import CgroupJoin
from ketch.cgroups._manager import CgroupManager
from ketch.cgroups._mode import CgroupMode, CgroupMount, detect
from ketch.cgroups._open import load_manager, open_manager

__all__ = [
    "CgroupJoin",
    "CgroupManager",
    "CgroupMode",
    "CgroupMount",
    "detect",
    "load_manager",
    "open_manager",
]
