import io
import json
from pathlib import Path

import pytest
import zstandard

from ketch.content import ContentStore
from ketch.errors import InvalidArgument
from ketch.images.changes import apply_changes, parse_exposed_ports
from ketch.images.import_ import import_rootfs, open_source
from ketch.images.store import ImageStore
from ketch.oci.image_spec import ContainerConfig, parse_manifest
from tests.support.images import busybox_layer, gzip_bytes, sha256


def test_apply_changes() -> None:
    config = apply_changes(
        None,
        [
            'CMD ["sh", "-c", "echo hi"]',
            "ENTRYPOINT /bin/init --flag",
            'ENV PATH=/bin A="b c"',
            "ENV LEGACY value with spaces",
            "ENV A=replaced",
            "EXPOSE 80 53/udp 8000-8001",
            "LABEL a=b 'c d'=e",
            "USER app:app",
            "WORKDIR /srv",
            "WORKDIR sub",
            'VOLUME ["/data", "/logs"]',
            "VOLUME /more",
            "STOPSIGNAL SIGQUIT",
            "onbuild RUN echo x",
        ],
    )
    assert config.cmd == ("sh", "-c", "echo hi")
    assert config.entrypoint == ("/bin/sh", "-c", "/bin/init --flag")
    assert config.env == ("PATH=/bin", "LEGACY=value with spaces", "A=replaced")
    assert set(config.exposed_ports or {}) == {"80/tcp", "53/udp", "8000/tcp", "8001/tcp"}
    assert dict(config.labels or {}) == {"a": "b", "c d": "e"}
    assert config.user == "app:app" and config.working_dir == "/srv/sub"
    assert set(config.volumes or {}) == {"/data", "/logs", "/more"}
    assert config.stop_signal == "SIGQUIT" and config.on_build == ("RUN echo x",)


def test_apply_changes_keeps_base() -> None:
    base = ContainerConfig(env=("A=1",), cmd=("sh",))
    assert apply_changes(base, ["ENV B=2"]) == ContainerConfig(env=("A=1", "B=2"), cmd=("sh",))


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ("RUN rm -rf /", "RUN is not a valid change command"),
        ("FROM x", "FROM is not a valid change command"),
        ("ENV", "requires at least one argument"),
        ("ENV A", "must have two arguments"),
        ("LABEL =x", "can't find ="),
        ("EXPOSE http", "invalid containerPort"),
        ("EXPOSE 70000", "invalid range"),
        ("STOPSIGNAL $(reboot)", "invalid stop signal"),
        ("ENV A='unterminated", "No closing quotation"),
        ("ONBUILD FROM x", "isn't allowed as an ONBUILD trigger"),
    ],
)
def test_bad_changes(change: str, error: str) -> None:
    with pytest.raises(InvalidArgument, match=error):
        apply_changes(None, [change])


def test_parse_exposed_ports() -> None:
    assert parse_exposed_ports(["80/TCP"]) == {"80/tcp": {}}


@pytest.mark.parametrize("compress", ["none", "gzip", "zstd"])
def test_import_rootfs(compress: str, content: ContentStore, images: ImageStore) -> None:
    tar = busybox_layer()
    data = {"none": tar, "gzip": gzip_bytes(tar), "zstd": zstandard.ZstdCompressor().compress(tar)}[
        compress
    ]
    record = import_rootfs(
        io.BytesIO(data),
        content,
        images,
        name="bb:imp",
        changes=['CMD ["sh"]', "ENV A=1"],
        message="hello",
    )
    assert record.name == "docker.io/library/bb:imp"
    config = images.config(record)
    assert config.rootfs.diff_ids == (sha256(tar),)
    assert (
        config.config is not None and config.config.cmd == ("sh",) and config.config.env == ("A=1",)
    )
    assert config.history[0].comment == "hello"
    manifest = parse_manifest(content.read(record.target.digest))
    assert manifest.layers[0].media_type.endswith("tar+gzip")


def test_import_without_name_is_dangling(content: ContentStore, images: ImageStore) -> None:
    record = import_rootfs(io.BytesIO(busybox_layer()), content, images, source="rootfs.tar")
    assert record.is_dangling
    assert images.config(record).history[0].comment == "Imported from rootfs.tar"


@pytest.mark.parametrize("data", [b"", b"not a tar at all" * 64, gzip_bytes(b"junk" * 1000)])
def test_import_bad_input_leaves_nothing(
    data: bytes, content: ContentStore, images: ImageStore
) -> None:
    with pytest.raises(InvalidArgument):
        import_rootfs(io.BytesIO(data), content, images, name="x")
    assert images.list() == [] and list(content.walk()) == [] and content.ingests() == []


def test_import_bad_change_writes_nothing(content: ContentStore, images: ImageStore) -> None:
    with pytest.raises(InvalidArgument):
        import_rootfs(io.BytesIO(busybox_layer()), content, images, changes=["RUN x"])
    assert list(content.walk()) == []


def test_open_source(tmp_path: Path) -> None:
    stdin = io.BytesIO(b"x")
    assert open_source("-", stdin) is stdin  # type: ignore[arg-type]
    (tmp_path / "f").write_bytes(b"y")
    with open_source(str(tmp_path / "f"), stdin) as f:  # type: ignore[arg-type]
        assert f.read() == b"y"
    with pytest.raises(InvalidArgument, match="no such file"):
        open_source(str(tmp_path / "nope"), stdin)  # type: ignore[arg-type]


def test_import_from_http(content: ContentStore, images: ImageStore) -> None:
    import http.server
    import threading

    payload = gzip_bytes(busybox_layer())

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: object) -> None:
            return None

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/rootfs.tar.gz"
        stream = open_source(url, io.BytesIO())  # type: ignore[arg-type]
        with stream:
            record = import_rootfs(stream, content, images, name="web", source=url)
        assert images.config(record).rootfs.diff_ids == (sha256(busybox_layer()),)
    finally:
        server.shutdown()
        server.server_close()
    assert json.loads(content.read(record.target.digest))["schemaVersion"] == 2
