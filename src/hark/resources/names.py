"""Google's resource names for stored resources: ``projects/*/locations/*/{collection}/*``.

A name is parsed once, where a request enters, into a ``ResourceName``; a malformed one is
INVALID_ARGUMENT before anything is read. Ids follow the v2 API's rule for ``recognizer_id``,
``phrase_set_id`` and ``custom_class_id``: 4 to 63 characters of ``[a-z0-9-]``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from hark.errors import InvalidArgument

IMPLICIT = "_"
"""The id of v2's implicit recognizer: no stored defaults, the request's config is all."""
_SEGMENT = r"[A-Za-z0-9][A-Za-z0-9._~-]{0,127}"
_PARENT = re.compile(rf"projects/({_SEGMENT})/locations/({_SEGMENT})")
_ID = re.compile(r"[a-z0-9-]{4,63}")
KINDS = {
    "recognizers": "Recognizer",
    "phraseSets": "PhraseSet",
    "customClasses": "CustomClass",
    "operations": "Operation",
}
"""Each collection and the message type its resources are."""


@dataclass(frozen=True)
class ResourceName:
    """A parsed name; ``str()`` gives it back."""

    project: str
    location: str
    collection: str
    resource_id: str

    @property
    def parent(self) -> str:
        return f"projects/{self.project}/locations/{self.location}"

    @property
    def kind(self) -> str:
        return KINDS[self.collection]

    @property
    def implicit(self) -> bool:
        return self.resource_id == IMPLICIT

    def __str__(self) -> str:
        return f"{self.parent}/{self.collection}/{self.resource_id}"


def parse_parent(text: str, field: str = "parent") -> str:
    """``projects/{project}/locations/{location}``; INVALID_ARGUMENT otherwise."""
    if not _PARENT.fullmatch(text):
        raise _malformed(field, text, "projects/{project}/locations/{location}")
    return text


def parse_name(text: str, collection: str, field: str = "name") -> ResourceName:
    """A resource name of ``collection`` (the implicit ``_`` allowed); INVALID_ARGUMENT else."""
    parent, _, rest = text.rpartition(f"/{collection}/")
    match = _PARENT.fullmatch(parent)
    if not match or not (rest == IMPLICIT or _ID.fullmatch(rest)):
        singular = KINDS[collection][0].lower() + KINDS[collection][1:]
        pattern = f"projects/{{project}}/locations/{{location}}/{collection}/{{{singular}}}"
        raise _malformed(field, text, pattern)
    return ResourceName(match.group(1), match.group(2), collection, rest)


def new_name(parent: str, collection: str, resource_id: str, field: str) -> ResourceName:
    """The name a Create request asks for; INVALID_ARGUMENT for a bad id."""
    if not _ID.fullmatch(resource_id):
        raise InvalidArgument(
            f"Invalid {field} '{resource_id}': it must be 4-63 characters of [a-z0-9-]."
        )
    return parse_name(f"{parse_parent(parent)}/{collection}/{resource_id}", collection)


def _malformed(field: str, text: str, pattern: str) -> InvalidArgument:
    return InvalidArgument(f"Invalid resource name '{text}' in '{field}': expected {pattern}.")
