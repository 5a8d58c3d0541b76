"""Task packages on the wire: serialize, optionally compress, sign; and the reverse.

Wire format (one ASCII string)::

    <b64 header JSON> "." <flag><b64 body> ":" <signature>

* ``header``: JSON with the task's identity (``id``, ``name``, ``func`` as text,
  ``group``, ``cached``, ``save``, ``ack_failure``), so a package whose body cannot be
  deserialized can still be recorded as a ``Failure`` under its own id and group.
* ``body``: the whole package, serialized with ``Q_CLUSTER['serializer']``; zlib-compressed
  when ``compress`` is on and it helps (flag ``z``, else ``-``).
* ``signature``: :class:`django.core.signing.Signer`'s (see :class:`PackageSigner`) over
  everything before it, keyed with ``SECRET_KEY`` (``SECRET_KEY_FALLBACKS`` accepted when verifying, for key rotation)
  and salted with the cluster name. Nothing is decoded before the signature verifies.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import zlib
from typing import Any

from django.conf import settings
from django.core import signing as django_signing
from django.utils.encoding import force_bytes

from djq.conf import Conf, conf as default_conf
from djq.errors import BadSignature, PackageError, SerializationError
from djq.execution import func_name
from djq.plugins import plugins

HEADER_FIELDS = ("id", "name", "func", "group", "cached", "save", "ack_failure")


class UnreadablePackage(PackageError):
    """The signature verified but the body cannot be deserialized (a class that no
    longer imports, a serializer mismatch). ``header`` still identifies the task."""

    def __init__(self, message: str, header: dict[str, Any]) -> None:
        super().__init__(message)
        self.header = header


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def header_of(package: dict) -> dict[str, Any]:
    header = {k: package.get(k) for k in HEADER_FIELDS}
    header["func"] = func_name(header["func"])
    if not isinstance(header["cached"], (bool, int, type(None))):
        header["cached"] = bool(header["cached"])
    return header


class PackageSigner:
    """Django's :class:`~django.core.signing.Signer` algorithm (``sha256``, separator
    ``:``), byte for byte, with the keyed HMAC prepared once per key.

    ``Signer.signature()`` derives the HMAC key (``sha256(salt + "signer" + secret)``) and
    builds a new HMAC object on every call; profiled, that was most of the cost of
    signing and of verifying a package (both run once per task). Here each key's HMAC,
    already keyed, is copied and fed the value. Verification tries ``SECRET_KEY`` and
    then each of ``SECRET_KEY_FALLBACKS`` (key rotation), as ``Signer.unsign()`` does.
    """

    sep = ":"

    def __init__(self, salt: str, key: str, fallback_keys: tuple = ()) -> None:
        key_salt = force_bytes(salt + "signer")
        self._macs = [hmac.new(hashlib.sha256(key_salt + force_bytes(k)).digest(),
                               digestmod=hashlib.sha256) for k in (key, *fallback_keys)]

    @staticmethod
    def _signature(mac, value: bytes) -> str:
        mac = mac.copy()
        mac.update(value)
        return django_signing.b64_encode(mac.digest()).decode()

    def sign(self, value: str) -> str:
        return f"{value}:{self._signature(self._macs[0], value.encode())}"

    def unsign(self, signed_value: str) -> str:
        value, sep, sig = signed_value.rpartition(":")
        if not sep:
            raise django_signing.BadSignature('No ":" found in value')
        data, given = value.encode(), sig.encode()
        for mac in self._macs:
            # hmac.compare_digest is what constant_time_compare runs, minus two
            # force_bytes() calls per package.
            if hmac.compare_digest(given, self._signature(mac, data).encode()):
                return value
        raise django_signing.BadSignature(f'Signature "{sig}" does not match')


# salt -> (SECRET_KEY, SECRET_KEY_FALLBACKS, conf generation, signer): one per salt
# (cluster name), reused until the secrets or the settings change. The secrets are part
# of the check, not only the generation, because a ``Conf({...})`` built by hand never
# reloads and a secret may be changed without a ``setting_changed`` signal.
_signers: dict[str, tuple[Any, tuple, int, PackageSigner]] = {}

# ``json.dumps`` with arguments builds a new encoder per call; this one is reused.
_header_encoder = json.JSONEncoder(separators=(",", ":"), default=str)


def _signer(conf: Conf) -> PackageSigner:
    """The :class:`PackageSigner` for ``conf``'s salt, cached."""
    salt = conf.salt
    secret = settings.SECRET_KEY
    fallbacks = tuple(settings.SECRET_KEY_FALLBACKS)
    generation = default_conf.generation
    cached = _signers.get(salt)
    if (cached is not None and cached[0] == secret and cached[1] == fallbacks
            and cached[2] == generation):
        return cached[3]
    signer = PackageSigner(salt, secret, fallbacks)
    _signers[salt] = (secret, fallbacks, generation, signer)
    return signer


def dumps(package: dict, conf: Conf | None = None) -> str:
    """Serialize, compress (if ``compress``) and sign a package."""
    conf = conf or default_conf
    serializer = plugins.serializer(conf.serializer)
    try:
        body = serializer.dumps(package)
    except Exception as exc:
        raise SerializationError(
            f"Task {package.get('func')!r} cannot be serialized with the "
            f"{conf.serializer!r} serializer: {exc}") from exc
    flag = "-"
    if conf.compress:
        packed = zlib.compress(body)
        if len(packed) < len(body):
            body, flag = packed, "z"
    header = _header_encoder.encode(header_of(package)).encode()
    return _signer(conf).sign(f"{_b64(header)}.{flag}{_b64(body)}")


def verified(signed: str | bytes, conf: Conf | None = None,
             signer: PackageSigner | None = None) -> str:
    """Check the signature; return the payload (``<b64 header>.<flag><b64 body>``), still
    encoded. ``signer``: one from :func:`signer_for`, to reuse over a batch.

    :raises BadSignature: tampered, foreign or malformed; nothing was decoded.
    """
    if isinstance(signed, bytes):
        signed = signed.decode("ascii", "replace")
    try:
        payload = (signer or signer_for(conf)).unsign(signed)
    except django_signing.BadSignature as exc:
        raise BadSignature(f"Package signature does not verify: {exc}") from exc
    if "." not in payload:  # signed by us but malformed: still never executed
        raise BadSignature("Malformed package: no header")
    return payload


def header_of_payload(payload: str) -> dict[str, Any]:
    """The JSON header of a verified payload (only decoded when needed: the body holds
    everything the header does)."""
    try:
        header = json.loads(_unb64(payload.split(".", 1)[0]))
    except ValueError:
        return {}
    return header if isinstance(header, dict) else {}


def verify(signed: str | bytes, conf: Conf | None = None) -> tuple[dict[str, Any], str]:
    """Check the signature; return the (JSON-only) header and the still-encoded body."""
    payload = verified(signed, conf)
    header_text, body_text = payload.split(".", 1)
    try:
        return json.loads(_unb64(header_text)), body_text
    except ValueError as exc:  # signed by us but malformed: still never executed
        raise BadSignature(f"Malformed package: {exc}") from exc


def signer_for(conf: Conf | None = None) -> PackageSigner:
    """The signer :func:`dumps` and :func:`verified` use for ``conf`` right now."""
    return _signer(conf or default_conf)


def loads(signed: str | bytes, conf: Conf | None = None) -> dict:
    """Verify and unpack a package.

    :raises BadSignature: tampered or foreign package; nothing was deserialized.
    :raises UnreadablePackage: signature good, body unreadable; ``.header`` identifies it.
    """
    return open_payload(verified(signed, conf), conf)


def open_payload(payload: str, conf: Conf | None = None) -> dict:
    """Deserialize the body of a payload :func:`verified` accepted.

    :raises UnreadablePackage: the body does not deserialize; ``.header`` identifies it.
    """
    body_text = payload.split(".", 1)[1]
    conf = conf or default_conf
    try:
        body = _unb64(body_text[1:])
        if body_text[:1] == "z":
            body = zlib.decompress(body)
        return plugins.serializer(conf.serializer).loads(body)
    except Exception as exc:
        header = header_of_payload(payload)
        raise UnreadablePackage(
            f"Package {header.get('id')} ({header.get('func')}) cannot be deserialized: "
            f"{exc!r}", header) from exc
