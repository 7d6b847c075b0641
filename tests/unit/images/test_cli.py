"""The image commands through the CLI runner, on a fake engine (no containers, no snapshots)."""

import io
import json
import tarfile
from pathlib import Path
from typing import Any

import pytest

from ketch.cli._context import CliContext, run_command
from ketch.content import ContentStore
from ketch.images.store import ImageStore
from tests.support.images import (
    busybox_image,
    busybox_layer,
    multilayer_image,
    store_image,
    write_docker_archive,
)


class FakeContainers:
    def __init__(self) -> None:
        self.docs: list[dict[str, Any]] = []

    def records(self, all_: bool = True) -> list[dict[str, Any]]:
        return self.docs


class FakeEngine:
    def __init__(self, root: Path) -> None:
        self.content = ContentStore(root / "content")
        self.images = ImageStore(root / "images", self.content)
        self.snapshotter = None
        self.containers = FakeContainers()


class Ctx(CliContext):
    def __init__(self, root: Path, stdin: bytes = b"") -> None:
        self.out_bytes = io.BytesIO()
        super().__init__(
            root,
            stdout=io.TextIOWrapper(self.out_bytes, encoding="utf-8", write_through=True),
            stderr=io.StringIO(),
            stdin=io.BytesIO(stdin),
        )
        self._fake = FakeEngine(root)

    def engine(self) -> Any:
        return self._fake

    @property
    def out(self) -> str:
        return self.out_bytes.getvalue().decode()

    @property
    def err(self) -> str:
        return self.stderr.getvalue()  # type: ignore[attr-defined]


COMMANDS = {
    "images": "images", "image": "image_cmd", "tag": "tag", "rmi": "rmi", "load": "load",
    "save": "save", "import": "import_", "history": "history",
}  # fmt: skip


def ketch(ctx: Ctx, *argv: str) -> int:
    return run_command(ctx, argv[0], COMMANDS[argv[0]], list(argv[1:]))


@pytest.fixture
def ctx(tmp_path: Path) -> Ctx:
    c = Ctx(tmp_path)
    store_image(c._fake.content, c._fake.images, busybox_image(), "busybox")
    return c


def _fresh(ctx: Ctx, stdin: bytes = b"") -> Ctx:
    new = Ctx(ctx.root, stdin)
    new._fake = ctx._fake
    return new


def test_images_table_quiet_digests_format(ctx: Ctx) -> None:
    image_id = busybox_image().config_digest
    assert ketch(ctx, "images") == 0
    lines = ctx.out.splitlines()
    assert lines[0].split() == ["REPOSITORY", "TAG", "IMAGE", "ID", "CREATED", "SIZE"]
    assert lines[1].split()[:3] == ["busybox", "latest", image_id[7:19]]
    assert "56 years ago" in lines[1]
    c = _fresh(ctx)
    ketch(c, "images", "-q", "--no-trunc")
    assert c.out == f"{image_id}\n"
    c = _fresh(ctx)
    ketch(c, "images", "--digests")
    assert "DIGEST" in c.out.splitlines()[0]
    c = _fresh(ctx)
    ketch(c, "images", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}")
    assert c.out == f"busybox:latest {image_id[7:19]}\n"
    c = _fresh(ctx)
    ketch(c, "images", "--format", "json")
    assert json.loads(c.out)["Repository"] == "busybox"


def test_images_filters_and_positional(ctx: Ctx) -> None:
    store_image(
        ctx._fake.content,
        ctx._fake.images,
        multilayer_image(labels={"team": "a"}),
        "ex.com/multi:1",
    )
    for argv, expected in [
        (["busybox"], ["busybox"]),
        (["busybox:nope"], []),
        (["-f", "reference=ex.com/*"], ["ex.com/multi"]),
        (["-f", "label=team=a"], ["ex.com/multi"]),
        (["-f", "label=team"], ["ex.com/multi"]),
        (["-f", "dangling=true"], []),
        (["-f", "dangling=false"], ["busybox", "ex.com/multi"]),
    ]:
        c = _fresh(ctx)
        assert ketch(c, "images", "--format", "{{.Repository}}", *argv) == 0, argv
        assert sorted(c.out.split()) == expected, argv
    c = _fresh(ctx)
    assert ketch(c, "images", "-f", "bogus=1") == 1
    assert "invalid filter 'bogus'" in c.err


def test_tag_and_rmi(ctx: Ctx) -> None:
    assert ketch(ctx, "tag", "busybox", "mine/bb:v1") == 0
    c = _fresh(ctx)
    assert ketch(c, "rmi", "mine/bb:v1") == 0
    assert c.out == "Untagged: mine/bb:v1\n"
    c = _fresh(ctx)
    assert ketch(c, "tag", "nope", "x") == 1
    assert "No such image: nope" in c.err
    c = _fresh(ctx)
    assert ketch(c, "tag", "busybox", f"x@{busybox_image().manifest_digest}") == 1
    assert "refusing to create a tag with a digest reference" in c.err


def test_rmi_in_use_and_continue_on_error(ctx: Ctx) -> None:
    image_id = busybox_image().config_digest
    ctx._fake.containers.docs = [{"ID": "f" * 64, "Image": image_id, "State": {"Running": False}}]
    c = _fresh(ctx)
    assert ketch(c, "rmi", "nope", "busybox") == 1
    assert "No such image: nope" in c.err and "must force" in c.err
    c = _fresh(ctx)
    assert ketch(c, "rmi", "-f", image_id[7:19]) == 0
    assert c.out.splitlines() == ["Untagged: busybox:latest", f"Deleted: {image_id}"]
    assert list(ctx._fake.content.walk()) == []  # garbage collected


def test_save_stdout_and_load_stdin(ctx: Ctx, tmp_path: Path) -> None:
    c = _fresh(ctx)
    assert ketch(c, "save", "busybox") == 0
    archive = c.out_bytes.getvalue()
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        assert "manifest.json" in tar.getnames()
    other = Ctx(tmp_path / "other", archive)
    assert ketch(other, "load") == 0
    assert other.out == "Loaded image: busybox:latest\n"
    c = _fresh(ctx)
    assert ketch(c, "save", "-o", str(tmp_path / "out.tar"), "busybox") == 0
    assert (tmp_path / "out.tar").stat().st_size > 0
    third = Ctx(tmp_path / "third")
    write_docker_archive(tmp_path / "u.tar", busybox_image(), [])
    assert ketch(third, "load", "-i", str(tmp_path / "u.tar")) == 0
    assert third.out == f"Loaded image ID: {busybox_image().config_digest}\n"
    fourth = Ctx(tmp_path / "fourth", b"garbage")
    assert ketch(fourth, "load") == 1
    assert fourth.err.startswith("Error response from daemon: ")


def test_import_and_history(ctx: Ctx) -> None:
    c = _fresh(ctx, busybox_layer())
    assert ketch(c, "import", "-c", 'CMD ["sh"]', "-m", "from a test", "-", "imp:1") == 0
    image_id = c.out.strip()
    assert image_id.startswith("sha256:")
    c = _fresh(ctx)
    assert ketch(c, "history", "imp:1") == 0
    lines = c.out.splitlines()
    assert lines[0].split() == ["IMAGE", "CREATED", "CREATED", "BY", "SIZE", "COMMENT"]
    assert lines[1].startswith(image_id[7:19]) and "from a test" in lines[1]
    c = _fresh(ctx)
    assert ketch(c, "history", "--no-trunc", "-q", "imp:1") == 0
    assert c.out == f"{image_id}\n"
    c = _fresh(ctx)
    assert ketch(c, "import", "-c", "RUN rm -rf /", "-", "bad") == 1
    assert "RUN is not a valid change command" in c.err


def test_image_inspect(ctx: Ctx) -> None:
    c = _fresh(ctx)
    assert ketch(c, "image", "inspect", "busybox") == 0
    doc = json.loads(c.out)[0]
    assert doc["Id"] == busybox_image().config_digest
    assert doc["RepoTags"] == ["busybox:latest"]
    assert doc["Config"]["Cmd"] == ["sh"] and doc["Os"] == "linux"
    assert doc["RootFS"] == {"Type": "layers", "Layers": [busybox_image().layers[0].diff_id]}
    c = _fresh(ctx)
    assert ketch(c, "image", "inspect", "-f", "{{.Architecture}}", "busybox", "nope") == 1
    assert c.out == "amd64\n" and "No such image: nope" in c.err


def test_image_subcommands_and_prune(ctx: Ctx) -> None:
    c = _fresh(ctx)
    assert ketch(c, "image", "ls", "-q") == 0
    assert c.out == f"{busybox_image().config_digest[7:19]}\n"
    c = _fresh(ctx, b"n\n")
    assert ketch(c, "image", "prune", "-a") == 0  # declined
    assert ctx._fake.images.list()
    c = _fresh(ctx)
    assert ketch(c, "image", "prune", "-a", "-f", "--filter", "label=nothing") == 0
    assert ctx._fake.images.list()  # spared by the filter
    c = _fresh(ctx)
    assert ketch(c, "image", "prune", "-af") == 0
    assert "untagged: busybox:latest" in c.out and "Total reclaimed space:" in c.out
    assert ctx._fake.images.list() == []
    c = _fresh(ctx)
    assert ketch(c, "image", "bogus") == 125


def test_until_filters(ctx: Ctx) -> None:
    c = _fresh(ctx)
    assert ketch(c, "images", "-q", "-f", "until=1h") == 0
    assert c.out.strip() == busybox_image().config_digest[7:19]  # created in 1970
    c = _fresh(ctx)
    assert ketch(c, "images", "-q", "-f", "until=1970-01-01T00:00:00Z") == 0
    assert c.out == ""
    c = _fresh(ctx)
    assert ketch(c, "images", "-f", "until=yesterday") == 1
    assert "invalid filter 'until=yesterday'" in c.err
