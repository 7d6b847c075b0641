"""Validate documents against the bundled OCI JSON schemas.

The validator is compiled ahead of time (``ketch.oci._gen_validators`` writes
``_runtime_config_validator``), so checking a config.json costs no schema parsing
and no import of fastjsonschema or ``re`` on the container start path.
``InvalidArgument`` names the failing field: ``config.json: process.cwd: is required``.
"""

from ketch.errors import InvalidArgument

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["validate_runtime_config"]


def _message(raw: str, what: str) -> str:
    # fastjsonschema's messages read "data.process.user.uid must be integer"
    path, sep, rest = raw.partition(" ")
    if path.startswith("data."):
        path = path[len("data.") :]
    elif path == "data":
        path = "<root>"
    return f"{what}: {path}: {rest}" if sep else f"{what}: {raw}"


def validate_runtime_config(data: object, what: str = "config.json") -> None:
    """Check a parsed config.json against runtime-spec 1.3's schema.

    Raises ``InvalidArgument("config.json: <field path>: <problem>")``.
    """
    from ketch.oci import _runtime_config_validator as generated

    validate: Callable[[object], object] = generated.validate
    try:
        validate(data)
    except generated.JsonSchemaValueException as e:
        raise InvalidArgument(_message(str(e), what)) from None
    except (TypeError, AttributeError, RecursionError) as e:  # defensive: never a traceback
        raise InvalidArgument(f"{what}: not a valid document: {e}") from None
