"""The bare seccomp(2) path: libseccomp attributes as kernel flags, programs checked first."""

import errno

import pytest

from ketch.linux import seccomp as sc


def test_attributes_map_to_the_kernels_filter_flags() -> None:
    attrs = ((sc.SCMP_FLTATR_CTL_NNP, 0), (sc.SCMP_FLTATR_CTL_TSYNC, 1), (sc.SCMP_FLTATR_CTL_LOG, 1))
    assert sc.filter_flags(attrs) == 1 | 2  # TSYNC | LOG; NNP is no flag (and 0 here)
    assert sc.filter_flags(((sc.SCMP_FLTATR_CTL_SSB, 1), (sc.SCMP_FLTATR_CTL_TSYNC, 0))) == 4


@pytest.mark.parametrize("program", [b"", b"1234567", b"x" * 8 * 0x10000])
def test_a_program_that_is_no_bpf_array_is_refused_before_the_kernel(program: bytes) -> None:
    with pytest.raises(OSError) as caught:
        sc.load_program(program, 0)
    assert caught.value.errno == errno.EINVAL
