"""The configuration view's redaction: every setting shown, no secret in it.

Driven by types and by parsing, not by a list of names:

* a ``SecretStr``/``SecretBytes`` field (``jwt_secret``) is ``"********"`` whatever its
  name; so is a registered run-time setting marked secret;
* every string is parsed: a URL's user information becomes ``***:***``
  (``postgresql://***:***@db:5432/dc``), and any ``key=value`` item whose key names a
  password, secret, token, key or signature (a URL query, an ODBC or libpq connection
  string) keeps its key and loses its value;
* a string field whose *name* says it is secret (``*_password``, ``*_token``...) is
  masked as a whole, in case a later setting is declared as plain ``str``;
* last, a net: every password and secret value known from the settings is looked for in
  the whole answer, and a value that still contains one is masked whole.

Paths (``jwt_private_key_file``) are shown; the files' contents never are.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import SecretBytes, SecretStr

from control.audit.services import is_secret_name
from control.settings import Settings

MASK = "********"
URL_USERINFO = "***:***"
PARAM_MASK = "***"

_URL = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]*://)(?P<rest>.*)$", re.DOTALL)
# key=value items of URL queries and connection strings; a braced ODBC value may hold ;
_PARAM = re.compile(
    r"(?P<key>[A-Za-z][\w.\-]*)(?P<eq>\s*=\s*)(?P<value>\{(?:[^}]|\}\})*\}|[^;&\s]*)"
)
_SECRET_PARAM_WORDS = ("pass", "pwd", "secret", "token", "key", "sig", "auth", "credential")
_NET_MIN_LENGTH = 4  # shorter "secrets" would match everywhere


def _secret_param(key: str) -> bool:
    lowered = key.lower()
    return any(word in lowered for word in _SECRET_PARAM_WORDS)


def _redact_params(text: str) -> str:
    def mask(match: re.Match[str]) -> str:
        if not _secret_param(match.group("key")) or not match.group("value"):
            return match.group(0)
        return f"{match.group('key')}{match.group('eq')}{PARAM_MASK}"

    return _PARAM.sub(mask, text) if "=" in text else text


def redact_text(text: str) -> str:
    """``text`` without URL credentials or secret ``key=value`` items.

    The user information of a URL is everything between ``://`` and the *last* ``@``
    (an unencoded ``@`` or ``/`` in a password must not leak a part of it); it becomes
    ``***:***`` whether it held a user, a password or both.
    """
    match = _URL.match(text)
    if match:
        rest = match.group("rest")
        at = rest.rfind("@")
        if at >= 0:
            rest = f"{URL_USERINFO}@{rest[at + 1 :]}"
        text = match.group("scheme") + rest
    return _redact_params(text)


def secret_type(annotation: Any) -> bool:
    """Whether a field's annotation is (or contains) a secret type."""
    if annotation in (SecretStr, SecretBytes):
        return True
    args = getattr(annotation, "__args__", ()) or ()
    metadata = getattr(annotation, "__metadata__", ()) or ()
    origin = getattr(annotation, "__origin__", None)
    return any(
        secret_type(a) for a in (*args, *metadata, origin) if a is not None and a is not annotation
    )


def redact_value(name: str, value: Any, *, secret: bool = False) -> Any:
    """One setting's value as it may be shown."""
    if value is None:
        return None
    if secret or isinstance(value, SecretStr | SecretBytes):
        return MASK
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, bytes):
        return MASK
    if isinstance(value, str):
        return MASK if is_secret_name(name) else redact_text(value)
    if isinstance(value, Mapping):
        return {str(k): redact_value(str(k), v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [redact_value(name, v) for v in value]
    if isinstance(value, bool | int | float):
        return value
    return redact_text(str(value))


def _known_secrets(settings: Settings) -> set[str]:
    """Plain-text secrets found in ``settings``: secret fields, URL and item passwords."""
    found: set[str] = set()

    def walk(value: Any) -> None:
        if isinstance(value, SecretStr):
            found.add(value.get_secret_value())
        elif isinstance(value, SecretBytes):
            found.add(value.get_secret_value().decode(errors="replace"))
        elif isinstance(value, str):
            match = _URL.match(value)
            if match and "@" in match.group("rest"):
                userinfo = match.group("rest").rpartition("@")[0]
                found.add(userinfo.partition(":")[2])
                with contextlib.suppress(ValueError):
                    found.add(urlsplit(value).password or "")
            for item in _PARAM.finditer(value):
                if _secret_param(item.group("key")):
                    found.add(item.group("value").strip("{}"))
        elif isinstance(value, list | tuple | set | frozenset):
            for v in value:
                walk(v)
        elif isinstance(value, Mapping):
            for v in value.values():
                walk(v)

    for name in type(settings).model_fields:
        walk(getattr(settings, name))
    return {s for s in found if len(s) >= _NET_MIN_LENGTH}


def _net(value: Any, secrets: set[str]) -> Any:
    if isinstance(value, str):
        return MASK if any(s in value for s in secrets) else value
    if isinstance(value, list):
        return [_net(v, secrets) for v in value]
    if isinstance(value, dict):
        return {k: _net(v, secrets) for k, v in value.items()}
    return value


def redact_settings(settings: Settings, secret_names: Collection[str] = ()) -> dict[str, Any]:
    """Every setting by name, redacted (see the module's docstring for the rules);
    ``secret_names`` are masked whatever their type (secret run-time settings)."""
    shown: dict[str, Any] = {}
    for name, info in type(settings).model_fields.items():
        secret = secret_type(info.annotation) or name in secret_names
        shown[name] = redact_value(name, getattr(settings, name), secret=secret)
    netted: dict[str, Any] = _net(shown, _known_secrets(settings))
    return netted
