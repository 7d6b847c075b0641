"""The container lifecycle: create, start, kill, delete, exec, the init process and its rootfs.

Submodules are imported by their users directly (``from ketch.runtime import rootfs``).
"""

__all__: list[str] = []
