import hashlib

import pytest

from ketch.errors import InvalidArgument
from ketch.oci.digest import Digester, digest_bytes, hex_of, is_digest, parse_digest

HEX256 = "a" * 64
HEX512 = "b" * 128


def test_parse_sha256_and_sha512() -> None:
    assert parse_digest(f"sha256:{HEX256}") == ("sha256", HEX256)
    assert parse_digest(f"sha512:{HEX512}") == ("sha512", HEX512)
    assert hex_of(f"sha256:{HEX256}") == HEX256


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "sha256",
        f"sha256:{HEX256[:-1]}",
        f"sha256:{HEX256}0",
        f"sha256:{HEX256.upper()}",
        f"md5:{'a' * 32}",
        f"sha512:{HEX256}",
        f"SHA256:{HEX256}",
        f" sha256:{HEX256}",
    ],
)
def test_parse_rejects(bad: str) -> None:
    with pytest.raises(InvalidArgument, match="invalid digest"):
        parse_digest(bad)
    assert not is_digest(bad)


def test_digest_bytes_and_streaming_agree() -> None:
    data = b"hello world" * 1000
    d = Digester()
    for i in range(0, len(data), 777):
        d.update(data[i : i + 777])
    assert d.digest() == digest_bytes(data) == f"sha256:{hashlib.sha256(data).hexdigest()}"
    s = Digester("sha512")
    s.update(data)
    assert s.digest() == digest_bytes(data, "sha512")


def test_unsupported_algorithm() -> None:
    with pytest.raises(InvalidArgument):
        Digester("md5")
    with pytest.raises(InvalidArgument):
        digest_bytes(b"", "sha1")
