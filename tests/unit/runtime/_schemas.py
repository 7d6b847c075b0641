"""jsonschema validators for the runtime-spec's state and features schemas (draft-04, with refs)."""

import json
from pathlib import Path

import jsonschema
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

REFERENCE = Path("/work/shared/reference/oci-runtime-spec-v1.3.0")
BUNDLED = Path(__file__).resolve().parents[3] / "src" / "ketch" / "oci" / "schemas" / "runtime"


def validator(name: str) -> jsonschema.Draft4Validator:
    """A validator for ``name`` (e.g. state-schema.json) from the reference copy of the spec
    (the bundled copy when the reference is not there); refs resolve among its files."""
    base = REFERENCE if (REFERENCE / name).exists() else BUNDLED
    registry: Registry = Registry()
    for path in sorted(base.glob("*.json")):
        doc = json.loads(path.read_text())
        registry = registry.with_resource(f"file://{path}", Resource(doc, DRAFT4))
    schema = json.loads((base / name).read_text())
    schema["id"] = f"file://{base / name}"
    return jsonschema.Draft4Validator(schema, registry=registry)
