"""config.json validation: the generated validator is current and names the failing field."""

import re
from pathlib import Path

import pytest

from ketch.errors import InvalidArgument
from ketch.oci import _gen_validators
from ketch.oci.validate import validate_runtime_config
from tests.support.bundle import default_config


def test_generated_validator_is_current() -> None:
    current = Path(_gen_validators.TARGET).read_text()
    assert current == _gen_validators.generate(), (
        "run: python -m ketch.oci._gen_validators"
    )


def test_a_default_config_is_valid() -> None:
    validate_runtime_config(default_config(["sh"]))


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        (lambda c: c.pop("ociVersion"), "ociVersion: is required"),
        (lambda c: c["process"].pop("cwd"), "process.cwd: is required"),
        (lambda c: c["process"]["user"].update(uid="root"), "process.user.uid: must be integer"),
        (lambda c: c["process"]["user"].update(uid=-1), "process.user.uid: must be bigger than or equal to 0"),
        (lambda c: c["process"].update(args="sh"), "process.args: must be array"),
        (lambda c: c["process"]["rlimits"][0].update(type="nofile"), "process.rlimits[0].type: must match pattern"),
        (lambda c: c["mounts"].append({"type": "tmpfs"}), "mounts[7].destination: is required"),
        (lambda c: c["root"].update(readonly="yes"), "root.readonly: must be boolean"),
        (lambda c: c["linux"]["resources"]["devices"][0].pop("allow"), "linux.resources.devices[0].allow: is required"),
        (lambda c: c["linux"].update(rootfsPropagation="weird"), "linux.rootfsPropagation: must be one of"),
        (lambda c: c.update(hostname=7), "hostname: must be string"),
        (lambda c: c.update(annotations={"a": 1}), "annotations.a: must be string"),
        (lambda c: c["linux"].update(uidMappings=[{"containerID": 0, "hostID": 1}]), "linux.uidMappings[0].size: is required"),
    ],
)
def test_errors_name_the_field(patch: object, field: str) -> None:
    config = default_config(["sh"])
    patch(config)  # type: ignore[operator]
    with pytest.raises(InvalidArgument) as info:
        validate_runtime_config(config)
    message = str(info.value)
    assert message.startswith("config.json: ")
    assert field in message


def test_not_an_object() -> None:
    with pytest.raises(InvalidArgument, match="<root>: must be object"):
        validate_runtime_config([])


@pytest.mark.parametrize("pattern", sorted(_gen_validators.PREDICATES))
def test_pattern_predicates_agree_with_re(pattern: str) -> None:
    predicate = eval(_gen_validators.PREDICATES[pattern])
    regex = re.compile(pattern.replace("$", r"\Z"))
    samples = [
        "", "a", "\n", "a\n", "RLIMIT_", "RLIMIT_NOFILE", "RLIMIT_nofile", "RLIMIT_A1",
        "0-3", "0,1, 2-4", "1a", "2MB", "10GB", "0MB", "1KB", "1TB", "12MB\n", "MB:0=70",
        "MB:", "MB:x\ny", "c", "b", "u", "p", "cc", "x",
    ]  # fmt: skip
    for sample in samples:
        assert bool(predicate(sample)) == bool(regex.search(sample)), sample
