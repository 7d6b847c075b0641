"""The registry commands through ``ketch.cli.main``: pull, push, login, logout, search, registry."""

from __future__ import annotations

import json

import pytest
from aiohttp import web

from ketch.cli import main
from tests.support.images import busybox_image, store_image


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "docker"))
    monkeypatch.setenv("KETCH_REGISTRIES_CONFIG", str(tmp_path / "registries.toml"))
    return tmp_path


def put_image(root, name, parts):
    from ketch.engine import Engine

    engine = Engine(root)
    return store_image(engine.content, engine.images, parts, name)


def test_push_pull_cli(env, registry, capsys):
    server = registry()
    parts = busybox_image()
    ref = f"{server.host}/cli/app:v1"
    put_image(env / "root1", ref, parts)
    assert main(["--root", str(env / "root1"), "push", ref]) == 0
    out = capsys.readouterr().out
    assert f"The push refers to repository [{server.host}/cli/app]" in out
    assert f"v1: digest: {parts.manifest_digest}" in out
    assert main(["--root", str(env / "root2"), "pull", "-q", ref]) == 0
    assert capsys.readouterr().out == f"{ref}\n"
    assert main(["--root", str(env / "root2"), "pull", f"{server.host}/cli/app"]) == 1
    err = capsys.readouterr()
    assert "Using default tag: latest" in err.out
    assert "manifest for" in err.err and "not found" in err.err
    assert main(["--root", str(env / "root3"), "push", f"{server.host}/cli/none:v1"]) == 1
    assert "An image does not exist locally" in capsys.readouterr().err


def test_push_all_tags_and_pull_all_tags(env, registry, capsys):
    server = registry()
    for tag in ("1", "2"):
        put_image(env / "src", f"{server.host}/multi:{tag}", busybox_image(labels={"t": tag}))
    assert main(["--root", str(env / "src"), "push", "-a", "-q", f"{server.host}/multi"]) == 0
    assert capsys.readouterr().out.split() == [f"{server.host}/multi:1", f"{server.host}/multi:2"]
    assert main(["--root", str(env / "dst"), "pull", "-a", "-q", f"{server.host}/multi"]) == 0
    assert capsys.readouterr().out == f"{server.host}/multi\n"


def test_login_logout_cli(env, tmp_path, registry, capsys, monkeypatch):
    from ketch.registry.server.auth import apr1_crypt

    htpasswd = tmp_path / "htpasswd"
    htpasswd.write_text(f"me:{apr1_crypt(b'pw', b'abcdefgh')}\n")
    server = registry(htpasswd=htpasswd)
    import io

    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(b"pw\n")))
    assert main(["login", "-u", "me", "--password-stdin", server.host]) == 0
    assert capsys.readouterr().out == "Login Succeeded\n"
    config = json.loads((env / "docker" / "config.json").read_text())
    assert server.host in config["auths"]
    assert main(["login", "-u", "me", "-p", "bad", server.host]) == 1
    assert "incorrect username or password" in capsys.readouterr().err
    assert main(["logout", server.host]) == 0
    assert capsys.readouterr().out == f"Removing login credentials for {server.host}\n"
    assert main(["logout", server.host]) == 0
    assert capsys.readouterr().out == f"Not logged in to {server.host}\n"


def test_search_cli(env, start_server, capsys):
    async def search(request: web.Request) -> web.Response:
        assert request.query["q"] == "busy"
        return web.json_response(
            {
                "results": [
                    {
                        "name": "busybox",
                        "description": "Busybox base image.",
                        "star_count": 3000,
                        "is_official": True,
                    },
                    {"name": "someone/busy", "description": "x" * 80, "star_count": 1},
                ]
            }
        )

    async def base(_request: web.Request) -> web.Response:
        return web.json_response({})

    app = web.Application()
    app.router.add_get("/v2/", base)
    app.router.add_get("/v1/search", search)
    server = start_server(app)
    assert main(["search", f"{server.host}/busy"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["NAME", "DESCRIPTION", "STARS", "OFFICIAL"]
    assert lines[1].split()[0] == "busybox" and lines[1].rstrip().endswith("[OK]")
    assert "…" in lines[2]
    assert (
        main(
            [
                "search",
                "--filter",
                "is-official=true",
                "--format",
                "{{.Name}}",
                f"{server.host}/busy",
            ]
        )
        == 0
    )
    assert capsys.readouterr().out == "busybox\n"
    assert main(["search", "--filter", "bogus", f"{server.host}/busy"]) == 125


def test_registry_garbage_collect_cli(tmp_path, capsys):
    from ketch.registry.server import FilesystemStorage

    storage = FilesystemStorage(tmp_path / "reg")
    storage.put_blob(b"orphan", "sha256:" + __import__("hashlib").sha256(b"orphan").hexdigest())
    assert (
        main(["registry", "garbage-collect", "--storage", str(tmp_path / "reg"), "--dry-run"]) == 0
    )
    assert "would remove sha256:" in capsys.readouterr().out
    assert main(["registry", "garbage-collect", "--storage", str(tmp_path / "reg")]) == 0
    assert "1 removed" in capsys.readouterr().out
    assert storage.blobs() == []
    assert main(["registry", "serve", "--addr", "nonsense"]) == 125
