"""The stat store contract: JSON text under a key, with an expiry, listable."""

from __future__ import annotations

from djq.conf import Conf


class StatStore:
    """Stores each cluster's status text; an entry vanishes ``expiry`` seconds after its
    last ``set`` (a cluster that died without a goodbye drops out of ``get_all``).

    Keys are opaque strings chosen by :class:`djq.status.Stat`; values are JSON text.
    """

    def __init__(self, conf: Conf) -> None:
        self.conf = conf

    def set(self, key: str, value: str, expiry: float) -> None:
        raise NotImplementedError

    def get(self, key: str) -> str | None:
        raise NotImplementedError

    def get_all(self) -> list[str]:
        """Every live entry's value."""
        raise NotImplementedError

    def delete(self, key: str) -> None:
        raise NotImplementedError
