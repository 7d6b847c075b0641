"""Validate documents against the bundled OCI JSON schemas.

(Placeholder implementation replaced by the generated fast validators; see
docs/architecture.md.)  Raises ``InvalidArgument`` naming the failing field.
"""

from ketch.errors import InvalidArgument

__all__ = ["validate_runtime_config"]


def validate_runtime_config(data: object) -> None:
    """Check a parsed config.json against runtime-spec 1.3's schema."""
    if not isinstance(data, dict):
        raise InvalidArgument("config.json: expected a JSON object")
    if "ociVersion" not in data:
        raise InvalidArgument("config.json: ociVersion: required field is missing")
