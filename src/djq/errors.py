"""One exception tree for djq."""

from __future__ import annotations


class DjqError(Exception):
    """Base class of every djq error."""


class ConfigurationError(DjqError):
    """``Q_CLUSTER`` asks for something that cannot work (the system checks say more)."""


class PluginError(ConfigurationError):
    """A plugin is missing, failed to load, or clashes with another."""


class PackageError(DjqError):
    """A task package cannot be built or read."""


class SerializationError(PackageError):
    """The task (or its result) cannot be serialized with the configured serializer."""


class BadSignature(PackageError):
    """A package's signature does not verify: it was tampered with or signed with
    another key or cluster name. Such a package is never deserialized."""


class PackageTooLarge(PackageError):
    """The signed package exceeds the broker's message size limit."""


class TaskImportError(DjqError):
    """The task function (or hook) given as a dotted path cannot be imported."""


class TimeoutExpired(DjqError):
    """A task ran past its timeout and its worker was terminated."""
