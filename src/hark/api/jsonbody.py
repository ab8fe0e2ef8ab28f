"""Proto3 JSON in and out, with Google's REST wording for what cannot be parsed.

Input takes camelCase or snake_case names, enums as names or integers, numbers as strings;
unknown fields, bad enum values, bad base64 and malformed JSON are INVALID_ARGUMENT.
Output is camelCase with defaults left out; enums as integers when the caller asked with
``$alt=json;enum-encoding=int`` (Google's own REST client does).
"""

from __future__ import annotations

import json
import re
from typing import Any, TypeVar

from google.protobuf import json_format
from google.protobuf.message import Message

from hark.errors import FieldViolation, InvalidArgument

M = TypeVar("M", bound=Message)

_UNKNOWN_FIELD = re.compile(r'has no field named "([^"]+)" at "([^"]+)"')
_BAD_ENUM = re.compile(r"Invalid enum value (\S+) for enum type \S+ at (\S+?)\.*$")
_BASE64 = re.compile(r"^[A-Za-z0-9+/_-]*=*$")


def parse_object(body: bytes) -> dict[str, Any]:
    """Load a JSON request body, which must be an object, or raise Google's 400 error."""
    try:
        document = json.loads(body or b"{}")
    except (ValueError, UnicodeDecodeError) as error:
        raise InvalidArgument(f"Invalid JSON payload received. {error}.") from None
    except RecursionError:  # nested past the interpreter's stack: no message is that deep
        raise InvalidArgument("Invalid JSON payload received. Nesting too deep.") from None
    if not isinstance(document, dict):
        raise InvalidArgument("Invalid JSON payload received. Expected an object.")
    return document


def parse_dict(document: dict[str, Any], message_class: type[M]) -> M:
    """Parse a JSON object into ``message_class``, or raise Google's 400 error."""
    _check_base64(document)
    message: M = message_class()
    try:
        json_format.ParseDict(document, message)
    except json_format.ParseError as error:
        raise _google_error(str(error)) from None
    except RecursionError:
        raise InvalidArgument("Invalid JSON payload received. Nesting too deep.") from None
    return message


def render(message: Message, *, integer_enums: bool = False) -> dict[str, Any]:
    """``message`` as Google's REST front end writes it."""
    rendered: dict[str, Any] = json_format.MessageToDict(
        message, use_integers_for_enums=integer_enums
    )
    return rendered


def wants_integer_enums(query: dict[str, str]) -> bool:
    """True for ``$alt=json;enum-encoding=int`` (the official REST client's query)."""
    return "enum-encoding=int" in query.get("$alt", "")


def _google_error(text: str) -> InvalidArgument:
    """Google's message for a protobuf ParseError."""
    if match := _UNKNOWN_FIELD.search(text):
        name, location = match.groups()
        path = _path(location)
        where = f" at '{path}'" if path else ""
        message = f'Invalid JSON payload received. Unknown name "{name}"{where}: Cannot find field.'
        return InvalidArgument(message, field_violations=[FieldViolation(path, message)])
    if match := _BAD_ENUM.search(text):
        value, location = match.groups()
        path = _path(location)
        message = f"Invalid value at '{path}' (TYPE_ENUM), \"{value}\""
        return InvalidArgument(message, field_violations=[FieldViolation(path, message)])
    detail = text.removeprefix("Failed to load JSON: ")
    return InvalidArgument(f"Invalid JSON payload received. {detail}")


def _path(location: str) -> str:
    """ "RecognizeRequest.config.encoding" -> "config.encoding"."""
    return location.partition(".")[2]


def _check_base64(document: dict[str, Any]) -> None:
    """protobuf's base64 decoding skips junk characters; Google's refuses them."""
    for owner, key in (("audio", "content"), ("", "audioContent"), ("", "audio_content")):
        holder = document.get(owner) if owner else document
        value = holder.get(key) if isinstance(holder, dict) else None
        if isinstance(value, str) and not _BASE64.match(value):
            path = f"{owner}.{key}" if owner else key
            message = (
                f"Invalid value at '{path}' (TYPE_BYTES),"
                f' Base64 decoding failed for "{value[:40]}"'
            )
            raise InvalidArgument(message, field_violations=[FieldViolation(path, message)])
