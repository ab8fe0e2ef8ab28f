"""Reading a legacy torch checkpoint's tensors with the standard library and numpy.

``resemblyzer/pretrained.pt`` was written by ``torch.save`` before its zip format: five pickles
in a row (a magic number, the protocol version, system info, the object, the storage keys),
then each storage's raw bytes, each after its element count as a little-endian int64. The
object's tensors are ``torch._utils._rebuild_tensor_v2`` calls over storages named by
persistent id; the unpickler below maps those to numpy arrays and refuses every other global,
so a checkpoint cannot run code (plain ``pickle.load`` would import whatever it names).
"""

from __future__ import annotations

import pickle
import struct
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np
import numpy.typing as npt

MAGIC_NUMBER = 0x1950A86A20F9469CFC6C
PROTOCOL_VERSION = 1001

_DTYPES = {
    "FloatStorage": np.float32,
    "DoubleStorage": np.float64,
    "HalfStorage": np.float16,
    "LongStorage": np.int64,
    "IntStorage": np.int32,
    "ShortStorage": np.int16,
    "CharStorage": np.int8,
    "ByteStorage": np.uint8,
    "BoolStorage": np.bool_,
}

Tensors = dict[str, npt.NDArray[Any]]


class CheckpointError(Exception):
    """The file is not a legacy torch checkpoint this reader understands."""


@dataclass(frozen=True)
class _StorageType:
    dtype: type[np.generic]


@dataclass(frozen=True)
class _Storage:
    key: str
    dtype: type[np.generic]


@dataclass(frozen=True)
class _Tensor:
    """A tensor before its storage's bytes are read (they follow the pickle)."""

    storage: _Storage
    offset: int
    size: tuple[int, ...]
    stride: tuple[int, ...]


def _rebuild_tensor_v2(
    storage: _Storage, offset: int, size: tuple[int, ...], stride: tuple[int, ...], *_: object
) -> _Tensor:
    return _Tensor(storage, offset, tuple(size), tuple(stride))


class _Unpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if module == "torch._utils" and name == "_rebuild_tensor_v2":
            return _rebuild_tensor_v2
        if module == "torch" and name in _DTYPES:
            return _StorageType(_DTYPES[name])
        if module == "collections" and name == "OrderedDict":
            return OrderedDict
        raise CheckpointError(f"the checkpoint names {module}.{name}, which is not allowed")

    def persistent_load(self, pid: Any) -> _Storage:
        if not (isinstance(pid, tuple) and pid and pid[0] == "storage"):
            raise CheckpointError("the checkpoint has a persistent id that is not a storage")
        storage_type, key = pid[1], pid[2]
        if not isinstance(storage_type, _StorageType):
            raise CheckpointError("the checkpoint has a storage of an unknown type")
        return _Storage(str(key), storage_type.dtype)


def load_state(path: Path, entry: str = "model_state") -> Tensors:
    """The tensors of ``checkpoint[entry]`` (a state dict) as numpy arrays, by name."""
    with path.open("rb") as file:
        try:
            return _read(file, entry)
        except (pickle.UnpicklingError, EOFError, struct.error, ValueError, KeyError) as error:
            raise CheckpointError(f"{path.name} is not a readable torch checkpoint") from error


def _read(file: IO[bytes], entry: str) -> Tensors:
    if _Unpickler(file).load() != MAGIC_NUMBER:
        raise CheckpointError("not a legacy torch checkpoint (wrong magic number)")
    if _Unpickler(file).load() != PROTOCOL_VERSION:
        raise CheckpointError("a legacy torch checkpoint of an unknown protocol version")
    _Unpickler(file).load()  # system info: endianness and type sizes (little-endian assumed)
    checkpoint = _Unpickler(file).load()
    keys = _Unpickler(file).load()
    state = checkpoint[entry] if isinstance(checkpoint, dict) else None
    if not isinstance(state, dict):
        raise CheckpointError(f"the checkpoint has no {entry!r} dictionary")
    dtypes = {value.storage.key: value.storage.dtype for value in _tensors_in(checkpoint)}
    storages = {}
    for key in keys:
        count = struct.unpack("<q", file.read(8))[0]
        dtype = np.dtype(dtypes.get(str(key), np.uint8))
        data = file.read(count * dtype.itemsize)
        if len(data) != count * dtype.itemsize:
            raise CheckpointError("the checkpoint ends inside a tensor")
        storages[str(key)] = np.frombuffer(data, dtype=dtype)
    return {
        str(name): _materialise(tensor, storages)
        for name, tensor in state.items()
        if isinstance(tensor, _Tensor)
    }


def _tensors_in(value: object) -> list[_Tensor]:
    """Every tensor in a nested structure of dicts, lists and tuples."""
    if isinstance(value, _Tensor):
        return [value]
    if isinstance(value, dict):
        return [tensor for item in value.values() for tensor in _tensors_in(item)]
    if isinstance(value, list | tuple):
        return [tensor for item in value for tensor in _tensors_in(item)]
    return []


def _materialise(tensor: _Tensor, storages: dict[str, npt.NDArray[Any]]) -> npt.NDArray[Any]:
    flat = storages[tensor.storage.key]
    itemsize = flat.dtype.itemsize
    needed = (
        tensor.offset
        + sum((n - 1) * s for n, s in zip(tensor.size, tensor.stride, strict=True))
        + 1
    )
    if needed > flat.shape[0] and all(tensor.size):
        raise CheckpointError("a tensor reaches past the end of its storage")
    view = np.lib.stride_tricks.as_strided(
        flat[tensor.offset :],
        shape=tensor.size,
        strides=tuple(s * itemsize for s in tensor.stride),
    )
    return np.array(view)  # a contiguous copy that owns its memory
