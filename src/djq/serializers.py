"""The core's package serializers: ``pickle`` (the default) and ``json``.

A serializer turns a task package (a dict) into bytes and back. Deserialization only
ever happens after the package's signature has verified (see :mod:`djq.signing`).

``json`` is for deployments that want no pickle on the wire: task functions travel as
dotted paths, arguments must be JSON types (tuples arrive as lists; datetimes, dates,
times, timedeltas, decimals and UUIDs round-trip through a small tagged encoding).
"""

from __future__ import annotations

import datetime
import decimal
import json
import pickle
import uuid
from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class Serializer(Protocol):
    def dumps(self, obj: Any) -> bytes: ...

    def loads(self, data: bytes) -> Any: ...


def pickle_dumps(obj: Any) -> bytes:
    return pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)


def pickle_loads(data: bytes) -> Any:
    return pickle.loads(data)


_TAG = "__djq__"
_DECODERS = {
    "datetime": datetime.datetime.fromisoformat,
    "date": datetime.date.fromisoformat,
    "time": datetime.time.fromisoformat,
    "decimal": decimal.Decimal,
    "uuid": uuid.UUID,
    "timedelta": lambda v: datetime.timedelta(seconds=float(v)),
    "tuple": tuple,
}


def _encode(obj: Any) -> Any:
    # datetime before date: datetime is a date subclass.
    for kind, types in (("datetime", datetime.datetime), ("date", datetime.date),
                        ("time", datetime.time)):
        if isinstance(obj, types):
            return {_TAG: kind, "v": obj.isoformat()}
    if isinstance(obj, datetime.timedelta):
        return {_TAG: "timedelta", "v": obj.total_seconds()}
    if isinstance(obj, (decimal.Decimal, uuid.UUID)):
        return {_TAG: type(obj).__name__.lower(), "v": str(obj)}
    raise TypeError(f"Object of type {type(obj).__name__} is not JSON serializable")


def _decode(obj: dict) -> Any:
    kind = obj.get(_TAG)
    if kind in _DECODERS and len(obj) == 2:
        return _DECODERS[kind](obj["v"])
    return obj


def json_dumps(obj: Any) -> bytes:
    return json.dumps(obj, default=_encode, separators=(",", ":")).encode()


def json_loads(data: bytes) -> Any:
    return json.loads(data, object_hook=_decode)
