"""Pure conversions from the OCI (cgroup v1 shaped) resources to cgroup v2 values."""

from ketch.errors import InvalidArgument

__all__ = ["blkio_weight_to_io_weight", "cpu_shares_to_weight", "swap_to_v2", "v1_limit"]


def cpu_shares_to_weight(shares: int) -> int:
    """cpu.shares [2, 262144] to cpu.weight [1, 10000]; 0 stays 0 ("unset").

    The curve of runc >= 1.3.2 and crun >= 1.23: a quadratic in log2(shares)
    mapping 2 -> 1, 1024 (the v1 default) -> 100 (the v2 default), 262144 -> 10000.
    """
    if shares == 0:
        return 0
    if shares <= 2:
        return 1
    if shares >= 262144:
        return 10000
    import math

    lg = math.log2(shares)
    return math.ceil(10 ** ((lg * lg + 125 * lg) / 612.0 - 7.0 / 34.0))


def blkio_weight_to_io_weight(weight: int) -> int:
    """blkio.weight [10, 1000] to io.weight [1, 10000], linearly; 0 stays 0."""
    if weight == 0:
        return 0
    return 1 + (weight - 10) * 9999 // 990


def swap_to_v2(swap: int, limit: int) -> int:
    """The OCI ``memory.swap`` (memory+swap) as cgroup v2 ``memory.swap.max`` (swap alone).

    -1 means no limit; 0 means unset.  Raises InvalidArgument when it cannot be computed.
    """
    if limit == -1 and swap == 0:
        return -1  # memory unlimited and swap not given: swap unlimited too
    if swap in (-1, 0) or limit == -1:
        return swap
    if limit == 0:
        raise InvalidArgument(
            "linux.resources.memory.swap: a swap limit needs a memory limit on cgroup v2"
        )
    if limit < 0:
        raise InvalidArgument(f"linux.resources.memory.limit: invalid value {limit}")
    if swap < limit:
        raise InvalidArgument(
            f"linux.resources.memory.swap: {swap} is below memory.limit {limit} "
            "(swap is the memory+swap limit)"
        )
    return swap - limit


def v1_limit(value: int) -> str:
    """A v1 byte limit: -1 (or any negative) is "-1" (no limit)."""
    return "-1" if value < 0 else str(value)
