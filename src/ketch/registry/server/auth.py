"""Server-side authentication: htpasswd Basic auth and Bearer tokens.

``Htpasswd`` reads an Apache htpasswd file: bcrypt (``$2y$``/``$2b$``, verified by the
C library's crypt(3) through the stdlib), ``{SHA}`` and ``$apr1$`` (MD5 crypt).
``TokenAuthority`` issues and verifies HS256 JSON web tokens carrying the
distribution spec's ``access`` claims (``[{"type":"repository","name":..,"actions":[..]}]``);
the key is a shared secret read from a file.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import time
import warnings
from pathlib import Path
from typing import Any

from ketch.errors import InvalidArgument, PermissionDenied

__all__ = ["Htpasswd", "TokenAuthority", "apr1_crypt", "parse_basic", "parse_scope"]

_ITOA64 = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def _to64(value: int, count: int) -> str:
    out = []
    for _ in range(count):
        out.append(_ITOA64[value & 0x3F])
        value >>= 6
    return "".join(out)


def apr1_crypt(password: bytes, salt: bytes) -> str:
    """Apache's MD5 crypt (``$apr1$<salt>$<hash>``)."""
    magic = b"$apr1$"
    salt = salt[:8]
    ctx = hashlib.md5(password + magic + salt)
    alt = hashlib.md5(password + salt + password).digest()
    remaining = len(password)
    while remaining > 0:
        ctx.update(alt[: min(16, remaining)])
        remaining -= 16
    bits = len(password)
    while bits:
        ctx.update(b"\0" if bits & 1 else password[:1])
        bits >>= 1
    final = ctx.digest()
    for i in range(1000):
        step = hashlib.md5()
        step.update(password if i & 1 else final)
        if i % 3:
            step.update(salt)
        if i % 7:
            step.update(password)
        step.update(final if i & 1 else password)
        final = step.digest()
    encoded = ""
    for a, b, c in ((0, 6, 12), (1, 7, 13), (2, 8, 14), (3, 9, 15), (4, 10, 5)):
        encoded += _to64((final[a] << 16) | (final[b] << 8) | final[c], 4)
    encoded += _to64(final[11], 2)
    return f"$apr1${salt.decode()}${encoded}"


def _crypt(password: str, stored: str) -> str | None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            import crypt
        except ImportError:  # Python >= 3.13: no crypt(3) binding
            return None
    result: str | None = crypt.crypt(password, stored)
    return result


class Htpasswd:
    """Users and password hashes from an htpasswd file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._users: dict[str, str] = {}
        try:
            text = path.read_text()
        except OSError as e:
            raise InvalidArgument(f"cannot read htpasswd file {path}: {e.strerror}") from e
        for number, line in enumerate(text.splitlines(), 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            user, sep, hashed = line.partition(":")
            if not sep or not user:
                raise InvalidArgument(f"{path}:{number}: expected user:hash")
            self._users[user] = hashed
        # successful checks, keyed by a salted hash: bcrypt costs ~0.1 s per check and
        # Basic auth sends the password with every request
        self._salt = os.urandom(16)
        self._verified: set[bytes] = set()

    def verify(self, user: str, password: str) -> bool:
        """True if ``password`` matches the user's hash (constant-time compare)."""
        stored = self._users.get(user)
        if stored is None:
            return False
        key = hashlib.sha256(self._salt + f"{user}\0{password}\0{stored}".encode()).digest()
        if key in self._verified:
            return True
        if self._check(password, stored):
            if len(self._verified) < 4096:
                self._verified.add(key)
            return True
        return False

    @staticmethod
    def _check(password: str, stored: str) -> bool:
        if stored.startswith("{SHA}"):
            computed = "{SHA}" + base64.b64encode(hashlib.sha1(password.encode()).digest()).decode()
        elif stored.startswith("$apr1$"):
            salt = stored[6:].split("$", 1)[0]
            computed = apr1_crypt(password.encode(), salt.encode())
        elif stored.startswith(("$2y$", "$2b$", "$2a$", "$5$", "$6$")):
            result = _crypt(password, stored)
            if result is None:
                return False
            computed = result
        else:  # plain text and unknown schemes are refused
            return False
        return hmac.compare_digest(computed.encode(), stored.encode())


def parse_basic(header: str) -> tuple[str, str] | None:
    """``(user, password)`` from an ``Authorization: Basic`` header, else None."""
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, sep, password = base64.b64decode(value.strip(), validate=True).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        return None
    return (user, password) if sep else None


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class TokenAuthority:
    """Issues and verifies HS256 registry tokens for one ``issuer`` and ``service``."""

    def __init__(self, key: bytes, issuer: str, service: str, *, lifetime: int = 300) -> None:
        if len(key) < 16:
            raise InvalidArgument("token key must be at least 16 bytes")
        self._key = key
        self.issuer = issuer
        self.service = service
        self.lifetime = lifetime

    def issue(self, subject: str, access: list[dict[str, Any]], *, now: float | None = None) -> str:
        """A signed token granting ``access`` to ``subject``."""
        issued = int(time.time() if now is None else now)
        header = {"alg": "HS256", "typ": "JWT"}
        claims = {
            "iss": self.issuer,
            "sub": subject,
            "aud": self.service,
            "iat": issued,
            "nbf": issued - 1,
            "exp": issued + self.lifetime,
            "access": access,
        }
        signing = (
            _b64url(json.dumps(header, separators=(",", ":")).encode())
            + "."
            + _b64url(json.dumps(claims, separators=(",", ":")).encode())
        )
        signature = hmac.new(self._key, signing.encode(), hashlib.sha256).digest()
        return f"{signing}.{_b64url(signature)}"

    def verify(self, token: str, *, now: float | None = None) -> dict[str, Any]:
        """The claims of a valid token; ``PermissionDenied`` names what is wrong."""
        parts = token.split(".")
        if len(parts) != 3:
            raise PermissionDenied("malformed token")
        try:
            header = json.loads(_unb64url(parts[0]))
            claims = json.loads(_unb64url(parts[1]))
            signature = _unb64url(parts[2])
        except (ValueError, UnicodeDecodeError, RecursionError) as e:
            raise PermissionDenied("malformed token") from e
        if not isinstance(header, dict) or header.get("alg") != "HS256":
            raise PermissionDenied("token algorithm must be HS256")
        expected = hmac.new(self._key, f"{parts[0]}.{parts[1]}".encode(), hashlib.sha256).digest()
        if not hmac.compare_digest(expected, signature):
            raise PermissionDenied("token signature is invalid")
        if not isinstance(claims, dict):
            raise PermissionDenied("malformed token claims")
        current = time.time() if now is None else now
        if claims.get("iss") != self.issuer:
            raise PermissionDenied("token issuer is not trusted")
        audience = claims.get("aud")
        if audience != self.service and not (
            isinstance(audience, list) and self.service in audience
        ):
            raise PermissionDenied("token audience does not match")
        exp, nbf = claims.get("exp"), claims.get("nbf", 0)
        if not isinstance(exp, int | float) or exp < current:
            raise PermissionDenied("token has expired")
        if not isinstance(nbf, int | float) or nbf > current + 60:
            raise PermissionDenied("token is not valid yet")
        return claims

    @staticmethod
    def allows(claims: dict[str, Any], name: str, action: str) -> bool:
        """True if the token's access claims grant ``action`` on repository ``name``."""
        for entry in claims.get("access") or ():
            if (
                isinstance(entry, dict)
                and entry.get("type") == "repository"
                and entry.get("name") in (name, "*")
                and action in (entry.get("actions") or ())
            ):
                return True
        return False


def parse_scope(scope: str) -> tuple[str, str, list[str]] | None:
    """``("repository", name, [actions])`` from a ``repository:name:pull,push`` scope."""
    kind, sep, rest = scope.partition(":")
    name, sep2, actions = rest.rpartition(":")
    if not sep or not sep2 or not name:
        return None
    return kind, name, [a for a in actions.split(",") if a]
