"""A request's ``config`` over its recognizer's ``default_recognition_config``, by
``config_mask``, as Google defines it:

- no mask: every field the request sets (leaf by leaf) overrides the default;
- a mask: only the listed paths override (a listed path the request leaves unset clears it);
- ``*``: the request's config replaces the default whole.

Repeated fields (``language_codes``) are replaced, never appended to.
"""

from __future__ import annotations

from typing import Any

from google.protobuf import field_mask_pb2
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

from hark.errors import InvalidArgument

WILDCARD = "*"


def merged(default: Message | None, config: Message, mask: Any) -> Message:
    """The effective config; INVALID_ARGUMENT for a mask path the config does not have."""
    paths = list(mask.paths) if mask is not None else []
    if default is None or paths == [WILDCARD]:
        return _copy(config)
    if paths:
        check_mask(paths, config)
    else:
        paths = set_paths(config)
    result = _copy(default)
    field_mask_pb2.FieldMask(paths=paths).MergeMessage(
        config, result, replace_message_field=True, replace_repeated_field=True
    )
    for path in paths:  # an empty message (auto_decoding_config {}) is still a choice made
        _mark_present(config, result, path.split("."))
    return result


def check_mask(paths: list[str], config: Message, field: str = "config_mask") -> None:
    """Each path must name a field of ``config``'s message type."""
    mask = field_mask_pb2.FieldMask(paths=paths)
    if WILDCARD in paths or not mask.IsValidForDescriptor(config.DESCRIPTOR):
        raise InvalidArgument(f"Invalid {field}: {', '.join(paths)}.")


def set_paths(config: Message, prefix: str = "") -> list[str]:
    """The paths of every field ``config`` sets, down to leaves (and empty messages)."""
    paths = []
    for field, value in config.ListFields():
        path = prefix + field.name
        nested = field.type == FieldDescriptor.TYPE_MESSAGE and not _repeated(field)
        if nested and value.ListFields():
            paths += set_paths(value, path + ".")
        else:
            paths.append(path)
    return paths


def _repeated(field: FieldDescriptor) -> bool:
    return bool(field.is_repeated)


def _mark_present(source: Message, target: Message, path: list[str]) -> None:
    head, *rest = path
    field = source.DESCRIPTOR.fields_by_name.get(head)
    if field is None or field.type != FieldDescriptor.TYPE_MESSAGE or _repeated(field):
        return
    if not source.HasField(head):
        return
    if rest:
        _mark_present(getattr(source, head), getattr(target, head), rest)
    else:
        getattr(target, head).SetInParent()


def _copy(message: Message) -> Message:
    copy = type(message)()
    copy.CopyFrom(message)
    return copy
