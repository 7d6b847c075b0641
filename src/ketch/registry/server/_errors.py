"""The distribution spec's error codes, their HTTP statuses and JSON bodies."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

__all__ = ["STATUS", "RegistryError", "error_response"]

STATUS = {
    "BLOB_UNKNOWN": 404,
    "BLOB_UPLOAD_INVALID": 400,
    "BLOB_UPLOAD_UNKNOWN": 404,
    "DIGEST_INVALID": 400,
    "MANIFEST_BLOB_UNKNOWN": 404,
    "MANIFEST_INVALID": 400,
    "MANIFEST_UNKNOWN": 404,
    "NAME_INVALID": 400,
    "NAME_UNKNOWN": 404,
    "SIZE_INVALID": 400,
    "UNAUTHORIZED": 401,
    "DENIED": 403,
    "UNSUPPORTED": 405,
    "TOOMANYREQUESTS": 429,
    "PAGINATION_NUMBER_INVALID": 400,
    "RANGE_INVALID": 416,
    "TAG_INVALID": 400,
}

_MESSAGES = {
    "BLOB_UNKNOWN": "blob unknown to registry",
    "BLOB_UPLOAD_INVALID": "blob upload invalid",
    "BLOB_UPLOAD_UNKNOWN": "blob upload unknown to registry",
    "DIGEST_INVALID": "provided digest did not match uploaded content",
    "MANIFEST_BLOB_UNKNOWN": "manifest references a manifest or blob unknown to registry",
    "MANIFEST_INVALID": "manifest invalid",
    "MANIFEST_UNKNOWN": "manifest unknown to registry",
    "NAME_INVALID": "invalid repository name",
    "NAME_UNKNOWN": "repository name not known to registry",
    "SIZE_INVALID": "provided length did not match content length",
    "UNAUTHORIZED": "authentication required",
    "DENIED": "requested access to the resource is denied",
    "UNSUPPORTED": "the operation is unsupported",
    "TOOMANYREQUESTS": "too many requests",
    "PAGINATION_NUMBER_INVALID": "invalid number of results requested",
    "RANGE_INVALID": "invalid content range",
    "TAG_INVALID": "manifest tag did not match URI",
}


class RegistryError(Exception):
    """A request failed with one of the spec's error codes (turned into a JSON response)."""

    def __init__(
        self,
        code: str,
        detail: Any = None,
        *,
        status: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail
        self.status = status if status is not None else STATUS[code]
        self.headers = headers or {}


def error_response(error: RegistryError, method: str) -> web.Response:
    """The JSON error body (none for HEAD) with the error's status and headers."""
    body: dict[str, Any] = {"code": error.code, "message": _MESSAGES[error.code]}
    if error.detail is not None:
        body["detail"] = error.detail
    text = "" if method == "HEAD" else json.dumps({"errors": [body]})
    return web.Response(
        status=error.status,
        text=text,
        content_type="application/json",
        headers=error.headers,
    )
