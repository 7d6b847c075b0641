import pytest

from ketch.errors import InvalidArgument
from ketch.images.reference import is_image_id_prefix, parse_reference

D = "sha256:" + "a" * 64

# input -> (full normalized string, familiar form); cases checked against the docker CLI
VALID = [
    ("busybox", "docker.io/library/busybox:latest", "busybox:latest"),
    ("busybox:1.36", "docker.io/library/busybox:1.36", "busybox:1.36"),
    ("library/busybox", "docker.io/library/busybox:latest", "busybox:latest"),
    ("docker.io/busybox", "docker.io/library/busybox:latest", "busybox:latest"),
    ("index.docker.io/busybox", "docker.io/library/busybox:latest", "busybox:latest"),
    ("index.docker.io/user/app:v2", "docker.io/user/app:v2", "user/app:v2"),
    ("user/app", "docker.io/user/app:latest", "user/app:latest"),
    ("a/b/c/d", "docker.io/a/b/c/d:latest", "a/b/c/d:latest"),
    ("localhost/app", "localhost/app:latest", "localhost/app:latest"),
    ("localhost:5000/a/b:t", "localhost:5000/a/b:t", "localhost:5000/a/b:t"),
    ("ex.com/app", "ex.com/app:latest", "ex.com/app:latest"),
    ("[::1]:5000/x", "[::1]:5000/x:latest", "[::1]:5000/x:latest"),
    ("Foo/bar", "Foo/bar:latest", "Foo/bar:latest"),  # uppercase first part is a host
    ("UPPER:5000/x", "UPPER:5000/x:latest", "UPPER:5000/x:latest"),
    ("a__b", "docker.io/library/a__b:latest", "a__b:latest"),
    ("a--b", "docker.io/library/a--b:latest", "a--b:latest"),
    ("a.b_c-d", "docker.io/library/a.b_c-d:latest", "a.b_c-d:latest"),
    ("busybox:Latest", "docker.io/library/busybox:Latest", "busybox:Latest"),
    ("busybox:_x.y-z", "docker.io/library/busybox:_x.y-z", "busybox:_x.y-z"),
    (f"busybox@{D}", f"docker.io/library/busybox@{D}", f"busybox@{D}"),
    (f"busybox:1@{D}", f"docker.io/library/busybox:1@{D}", f"busybox:1@{D}"),
    (f"ex.com:443/a@{D}", f"ex.com:443/a@{D}", f"ex.com:443/a@{D}"),
    (f"ex.com/a:{'t' * 128}", f"ex.com/a:{'t' * 128}", f"ex.com/a:{'t' * 128}"),
]

INVALID = [
    ("", "repository name must have at least one component"),
    ("BusyBox", "invalid reference format: repository name (library/BusyBox) must be lowercase"),
    ("Host/x/Y", "invalid reference format: repository name (x/Y) must be lowercase"),
    ("localhost/X", "invalid reference format: repository name (X) must be lowercase"),
    ("busybox:", "invalid reference format"),
    ("a//b", "invalid reference format"),
    (":tag", "invalid reference format"),
    ("busybox:-x", "invalid reference format"),
    ("a___b", "invalid reference format"),
    ("a.-b", "invalid reference format"),
    ("-a", "invalid reference format"),
    ("a/", "invalid reference format"),
    ("busybox@sha256:abc", "invalid reference format"),
    (f"ex.com/a:{'t' * 129}", "invalid reference format"),
    ("busybox@md5:d41d8cd98f00b204e9800998ecf8427e", "unsupported digest algorithm"),
    ("0" * 64, "cannot specify 64-byte hexadecimal strings"),
    ("a" * 256, "repository name must not be more than 255 characters"),
    ("bus box", "invalid reference format"),
]


@pytest.mark.parametrize(("text", "full", "familiar"), VALID)
def test_valid(text: str, full: str, familiar: str) -> None:
    ref = parse_reference(text)
    assert ref.string() == full
    assert ref.familiar() == familiar
    assert str(ref) == full
    # normalizing is idempotent
    assert parse_reference(ref.string()) == ref
    assert parse_reference(ref.familiar()) == ref


@pytest.mark.parametrize(("text", "message"), INVALID)
def test_invalid(text: str, message: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        parse_reference(text)
    assert message in str(info.value)


def test_parts() -> None:
    ref = parse_reference("localhost:5000/team/app:v1")
    assert (ref.domain, ref.path, ref.tag, ref.digest) == ("localhost:5000", "team/app", "v1", None)
    assert ref.name == "localhost:5000/team/app"
    assert ref.repository_path == "team/app"
    assert ref.with_tag("v2").string() == "localhost:5000/team/app:v2"
    assert parse_reference("busybox").name == "docker.io/library/busybox"


def test_default_tag() -> None:
    assert parse_reference("busybox", default_tag=None).tag is None
    assert parse_reference("busybox", default_tag="edge").tag == "edge"
    assert parse_reference(f"busybox@{D}").tag is None


def test_image_id_prefix() -> None:
    assert is_image_id_prefix("43dfd1")
    assert is_image_id_prefix("sha256:43dfd1")
    assert not is_image_id_prefix("busybox")
