"""registries.toml, docker config.json credentials and helpers, challenge parsing."""

from __future__ import annotations

import base64
import json
import os
import stat

import pytest

from ketch.errors import InvalidArgument, PermissionDenied
from ketch.registry.auth import Credentials, DockerConfig, auth_key
from ketch.registry.client._challenge import parse_challenges
from ketch.registry.config import (
    RegistriesConfig,
    is_loopback,
    load_registries_config,
    parse_registries_config,
)


def test_loopback_hosts():
    for host in ("localhost", "localhost:5000", "127.0.0.1", "127.1.2.3:80", "[::1]:5000", "::1"):
        assert is_loopback(host), host
    for host in ("example.com", "10.0.0.1:5000", "[2001:db8::1]:5000", "localhost.example.com"):
        assert not is_loopback(host), host


def test_default_endpoints_docker_hub():
    config = RegistriesConfig()
    [ep] = config.endpoints("docker.io", "library/busybox")
    assert (ep.host, ep.repository, ep.insecure, ep.mirror) == (
        "registry-1.docker.io",
        "library/busybox",
        False,
        False,
    )
    [ep] = config.endpoints("quay.io", "a/b")
    assert ep.host == "quay.io"


def test_registries_toml_prefix_location_mirrors(tmp_path):
    path = tmp_path / "registries.toml"
    path.write_text(
        """
        [[registry]]
        prefix = "docker.io"
        location = "docker.io"
        [[registry.mirror]]
        location = "mirror.local:5000"
        insecure = true

        [[registry]]
        prefix = "docker.io/acme"
        location = "internal.example:5000/hub-acme"
        insecure = true

        [[registry]]
        location = "blocked.example"
        blocked = true
        """
    )
    config = load_registries_config(path)
    eps = config.endpoints("docker.io", "library/busybox")
    assert [(e.host, e.repository, e.mirror) for e in eps] == [
        ("mirror.local:5000", "library/busybox", True),
        ("registry-1.docker.io", "library/busybox", False),
    ]
    assert [e.host for e in config.endpoints("docker.io", "library/busybox", pull=False)] == [
        "registry-1.docker.io"
    ]
    [ep] = config.endpoints("docker.io", "acme/app")
    assert (ep.host, ep.repository, ep.insecure) == ("internal.example:5000", "hub-acme/app", True)
    assert config.insecure("mirror.local:5000") and config.insecure("internal.example:5000")
    assert not config.insecure("registry-1.docker.io")
    with pytest.raises(PermissionDenied, match="blocked"):
        config.endpoints("blocked.example", "x")
    # docker.io/acmex does not match the docker.io/acme prefix
    assert config.endpoints("docker.io", "acmex/app")[-1].host == "registry-1.docker.io"
    assert load_registries_config(tmp_path / "missing.toml") == RegistriesConfig()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[[registry]]\nprefix = 'x'\ninsecure = 'yes'", "insecure: expected a boolean"),
        ("[[registry]]\nlocation = 'https://x'", "expected host"),
        ("registry = 3", "array of tables"),
        ("[[registry", "registries.toml"),
    ],
)
def test_registries_toml_errors(text, message):
    with pytest.raises(InvalidArgument, match=message):
        parse_registries_config(text)


def test_docker_config_auths_roundtrip(tmp_path):
    path = tmp_path / "d" / "config.json"
    config = DockerConfig(path)
    assert config.get("example.com") is None
    config.store("example.com:5000", Credentials("me", "pa:ss"))
    config.store("docker.io", Credentials("hub", "tok"))
    doc = json.loads(path.read_text())
    assert doc["auths"]["example.com:5000"]["auth"] == base64.b64encode(b"me:pa:ss").decode()
    assert "https://index.docker.io/v1/" in doc["auths"]
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert config.get("example.com:5000") == Credentials("me", "pa:ss")
    assert config.get("registry-1.docker.io") == Credentials("hub", "tok")
    assert "pa:ss" not in repr(config.get("example.com:5000"))
    assert config.erase("example.com:5000")
    assert config.get("example.com:5000") is None
    assert not config.erase("example.com:5000")
    assert auth_key("https://index.docker.io/v1/") == "https://index.docker.io/v1/"


def test_docker_config_env(tmp_path, monkeypatch):
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "env"))
    assert DockerConfig().path == tmp_path / "env" / "config.json"


def test_credential_helper_protocol(tmp_path, monkeypatch):
    store = tmp_path / "helper-store.json"
    helper = tmp_path / "bin" / "docker-credential-fake"
    helper.parent.mkdir()
    helper.write_text(
        f"""#!/usr/bin/env python3
import json, sys
path = {str(store)!r}
try:
    data = json.load(open(path))
except FileNotFoundError:
    data = {{}}
action = sys.argv[1]
if action == "store":
    req = json.load(sys.stdin)
    data[req["ServerURL"]] = [req["Username"], req["Secret"]]
    json.dump(data, open(path, "w"))
elif action == "get":
    url = sys.stdin.read().strip()
    if url not in data:
        print("credentials not found in native keychain")
        sys.exit(1)
    print(json.dumps({{"ServerURL": url, "Username": data[url][0], "Secret": data[url][1]}}))
elif action == "erase":
    url = sys.stdin.read().strip()
    if url not in data:
        print("credentials not found in native keychain")
        sys.exit(1)
    del data[url]
    json.dump(data, open(path, "w"))
"""
    )
    helper.chmod(0o755)
    monkeypatch.setenv("PATH", f"{helper.parent}:{os.environ['PATH']}")
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"credHelpers": {"reg.example": "fake"}}))
    config = DockerConfig(path)
    assert config.get("reg.example") is None
    config.store("reg.example", Credentials("alice", "s3cret"))
    assert json.loads(store.read_text()) == {"reg.example": ["alice", "s3cret"]}
    assert "s3cret" not in path.read_text()
    assert config.get("reg.example") == Credentials("alice", "s3cret")
    assert config.erase("reg.example")
    assert config.get("reg.example") is None


def test_missing_credential_helper(tmp_path):
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"credsStore": "does-not-exist-ketch"}))
    from ketch.errors import Unavailable

    with pytest.raises(Unavailable, match="not installed"):
        DockerConfig(path).get("x.example")


def test_challenges():
    [c] = parse_challenges(
        'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",'
        'scope="repository:library/busybox:pull"'
    )
    assert c.scheme == "bearer"
    assert c.params["scope"] == "repository:library/busybox:pull"
    first, second = parse_challenges('Basic realm="a b", Bearer realm="https://x/t",service=x')
    assert (first.scheme, first.params["realm"]) == ("basic", "a b")
    assert second.params == {"realm": "https://x/t", "service": "x"}
    assert parse_challenges("") == []


def test_docker_config_nested_too_deeply(tmp_path):
    path = tmp_path / "config.json"
    path.write_bytes(b"[" * 100_000 + b"]" * 100_000)
    with pytest.raises(InvalidArgument, match="nested too deeply"):
        DockerConfig(path).get("x.example")
