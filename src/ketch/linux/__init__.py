"""The thin typed syscall layer: every call into the kernel that Python's ``os`` lacks.

Each function raises ``OSError`` with errno on failure and does nothing else:
policy lives in the packages above.  Submodules are imported by their users
directly (``from ketch.linux import mount``) so that a caller pays only for what
it uses.
"""

__all__: list[str] = []
