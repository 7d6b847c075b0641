"""Hostile layers write nothing outside the destination, and the error names the member.

Each case applies into ``tmp/dest`` next to a ``tmp/sentinel`` directory holding
one file; afterwards ``tmp`` must hold exactly those two and ``sentinel`` its one
untouched file.
"""

import io
import os
import stat
from pathlib import Path
from typing import Any

import pytest

from ketch.errors import InvalidArgument, KetchError, PermissionDenied, ResourceExhausted
from ketch.layers import ApplyLimits, apply_layer
from tests.support.layers import (
    chardev,
    directory,
    file,
    gzip_bomb,
    hardlink,
    layer,
    opaque,
    symlink,
    whiteout,
)


@pytest.fixture
def box(tmp_path: Path) -> Path:
    (tmp_path / "dest").mkdir()
    (tmp_path / "sentinel").mkdir()
    (tmp_path / "sentinel" / "f").write_bytes(b"original")
    return tmp_path


def _untouched(box: Path) -> None:
    assert sorted(os.listdir(box)) == ["dest", "sentinel"]
    assert os.listdir(box / "sentinel") == ["f"]
    assert (box / "sentinel" / "f").read_bytes() == b"original"


def _apply(box: Path, blob: bytes, **kw: Any) -> None:
    apply_layer(io.BytesIO(blob), box / "dest", **kw)


def _refused(box: Path, blob: bytes, error: type[KetchError], member: str, **kw: Any) -> None:
    with pytest.raises(error) as info:
        _apply(box, blob, **kw)
    assert repr(member) in str(info.value), str(info.value)
    _untouched(box)


@pytest.mark.parametrize("name", ["../x", "../sentinel/f", "a/../../x", "./../x", "a/b/../../../x"])
def test_dotdot_names(box: Path, name: str) -> None:
    _refused(box, layer([file("a/b/ok", b"1"), file(name, b"evil")]), PermissionDenied, name)


def test_absolute_name_lands_inside(box: Path) -> None:
    name = str(box / "sentinel" / "f")  # absolute: like tar, it is taken relative to dest
    _apply(box, layer([file(name, b"evil")]))
    _untouched(box)
    assert (box / "dest" / name.lstrip("/")).read_bytes() == b"evil"


def test_symlink_out_then_write_through_missing(box: Path) -> None:
    blob = layer([symlink("a", str(box / "sentinel")), file("a/evil", b"x")])
    _refused(box, blob, PermissionDenied, "a/evil")


def test_symlink_out_then_overwrite_existing(box: Path) -> None:
    # the absolute target exists only outside: in the root it is dest/<that path>
    blob = layer([symlink("a", str(box / "sentinel")), file("a/f", b"x")])
    _refused(box, blob, PermissionDenied, "a/f")


def test_relative_symlink_out_resolves_inside(box: Path) -> None:
    blob = layer([directory("sentinel"), symlink("a", "../../sentinel"), file("a/f", b"inside")])
    _apply(box, blob)
    _untouched(box)
    assert (box / "dest/sentinel/f").read_bytes() == b"inside"


def test_symlink_dotdot_chains(box: Path) -> None:
    blob = layer([
        symlink("l1", ".."),
        symlink("l2", "l1/l1/l1/.."),
        directory("d"),
        symlink("d/up", "../../../../.."),
        file("l2/evil", b"1"),
        file("d/up/l2/evil2", b"2"),
    ])
    _apply(box, blob)
    _untouched(box)
    assert (box / "dest/evil").read_bytes() == b"1"
    assert (box / "dest/evil2").read_bytes() == b"2"


def test_final_symlink_is_replaced_not_followed(box: Path) -> None:
    blob = layer([symlink("f", str(box / "sentinel" / "f")), file("f", b"evil")])
    _apply(box, blob)
    _untouched(box)
    assert (box / "dest/f").read_bytes() == b"evil"
    assert not (box / "dest/f").is_symlink()


def test_directory_over_symlink_is_replaced(box: Path) -> None:
    blob = layer([symlink("d", str(box / "sentinel")), directory("d"), file("d/f", b"evil")])
    _apply(box, blob)
    _untouched(box)
    assert (box / "dest/d/f").read_bytes() == b"evil"


@pytest.mark.parametrize("target", ["/etc/passwd", "etc/passwd"])
def test_hardlink_to_host_file(box: Path, target: str) -> None:
    _refused(box, layer([hardlink("pw", target)]), InvalidArgument, "pw")
    assert not (box / "dest/pw").exists()


def test_hardlink_dotdot(box: Path) -> None:
    _refused(box, layer([hardlink("x", "../sentinel/f")]), PermissionDenied, "../sentinel/f")


def test_hardlink_through_symlinked_parent(box: Path) -> None:
    blob = layer([symlink("s", str(box / "sentinel")), hardlink("x", "s/f")])
    _refused(box, blob, InvalidArgument, "x")


def test_hardlink_to_symlink_links_the_symlink(box: Path) -> None:
    blob = layer([symlink("s", str(box / "sentinel" / "f")), hardlink("h", "s"),
                  file("h2", b"1")])
    _apply(box, blob)
    _untouched(box)
    assert os.readlink(box / "dest/h") == str(box / "sentinel" / "f")


def test_devices_refused_when_not_allowed(box: Path) -> None:
    _refused(box, layer([chardev("dev/mem", 1, 1)]), PermissionDenied, "dev/mem",
             limits=ApplyLimits(allow_devices=False))
    assert not (box / "dest/dev/mem").exists()


def test_gzip_bomb(box: Path) -> None:
    blob = gzip_bomb(64 << 20)
    assert len(blob) < 1 << 20
    _refused(box, blob, ResourceExhausted, "bomb", limits=ApplyLimits(max_bytes=8 << 20))
    assert (box / "dest/bomb").stat().st_size <= 8 << 20


def test_too_many_entries(box: Path) -> None:
    blob = layer([file(f"f{i}") for i in range(20)])
    _refused(box, blob, ResourceExhausted, "f10", limits=ApplyLimits(max_entries=10))


def test_too_long_name(box: Path) -> None:
    name = "n" * 5000
    with pytest.raises(InvalidArgument, match="longer than 4096"):
        _apply(box, layer([file(name, b"1")]))
    _untouched(box)


def test_too_long_link_name(box: Path) -> None:
    blob = layer([symlink("s", "t" * 300)])
    _refused(box, blob, InvalidArgument, "s", limits=ApplyLimits(max_name=200))


def test_too_big_pax_header(box: Path) -> None:
    blob = layer([file("x", b"1", xattrs={"user.big": b"v" * 5000})])
    with pytest.raises(ResourceExhausted, match="PAX header"):
        _apply(box, blob, limits=ApplyLimits(max_header=4096))
    _untouched(box)


def test_component_too_long(box: Path) -> None:
    _refused(box, layer([file("d/" + "c" * 300, b"1")]), InvalidArgument, "d/" + "c" * 300)


@pytest.mark.parametrize("name", ["d/.wh..", "d/.wh.."[:-1] + "."])
def test_malformed_whiteouts(box: Path, name: str) -> None:
    _refused(box, layer([directory("d"), file(name)]), InvalidArgument, name, whiteout="delete")


def test_whiteout_dotdot(box: Path) -> None:
    _refused(box, layer([whiteout("../sentinel/f")]), PermissionDenied, "../sentinel/.wh.f",
             whiteout="delete")


def test_whiteout_through_symlink(box: Path) -> None:
    blob = layer([symlink("l", str(box / "sentinel")), whiteout("l/f")])
    _apply(box, blob, whiteout="delete")
    _untouched(box)


def test_opaque_through_symlink(box: Path) -> None:
    blob = layer([symlink("l", str(box / "sentinel")), opaque("l")])
    _refused(box, blob, InvalidArgument, "l/.wh..wh..opq", whiteout="delete")


def test_opaque_through_relative_symlink_is_refused(box: Path) -> None:
    blob = layer([directory("inner"), file("inner/keep", b"1"),
                  symlink("l", "../../inner"), opaque("l")])
    _refused(box, blob, InvalidArgument, "l/.wh..wh..opq", whiteout="delete")
    assert (box / "dest/inner/keep").read_bytes() == b"1"


def test_hardlink_to_a_member_not_yet_extracted(box: Path) -> None:
    blob = layer([hardlink("early", "late"), file("late", b"1")])
    _refused(box, blob, InvalidArgument, "early")
    assert not (box / "dest/early").exists()


def test_hardlink_then_write_does_not_write_through(box: Path) -> None:
    blob = layer([file("a", b"original"), hardlink("b", "a"), file("b", b"replaced")])
    _apply(box, blob)
    _untouched(box)
    assert (box / "dest/a").read_bytes() == b"original"
    assert (box / "dest/b").read_bytes() == b"replaced"


def test_implicit_parent_metadata_stays_inside_lower(tmp_path: Path) -> None:
    (tmp_path / "outside/x").mkdir(parents=True)
    os.chmod(tmp_path / "outside/x", 0o701)
    lower = tmp_path / "lower"
    lower.mkdir()
    os.symlink(str(tmp_path / "outside"), lower / "s")  # a lower layer's absolute symlink
    dest = tmp_path / "dest"
    dest.mkdir()
    apply_layer(io.BytesIO(layer([file("s/x/f", b"1")])), dest, parents=[lower])
    # s/x resolves to <lower>/<tmp>/outside/x (absent): the host directory's mode is not copied
    assert stat.S_IMODE((dest / "s/x").stat().st_mode) == 0o755


def test_hardlink_copy_up_stays_inside_the_lower(box: Path) -> None:
    lower = box / "dest" / "lower"  # (inside dest only to keep the box's listing)
    lower.mkdir()
    os.symlink(str(box / "sentinel"), lower / "l")
    _refused(box, layer([hardlink("x", "l/f")]), InvalidArgument, "x", parents=[lower])
    assert not (box / "dest/x").exists()
