"""The cached Signer of :mod:`djq.signing`: byte-identical to a new Django ``Signer`` and
never stale after the secrets, the fallbacks or the settings change."""

import json
import uuid

import pytest
from django.core import signing as django_signing

from djq import signing
from djq.conf import Conf, conf
from djq.errors import BadSignature

PACKAGE = {"id": "b" * 32, "name": "alpha-bravo-charlie-delta", "func": "math.floor",
           "args": (2.5,), "kwargs": {}, "group": uuid.UUID(int=7), "cached": 30,
           "save": True, "ack_failure": False}


def _django_sign(signed: str, salt: str, key: str | None = None) -> str:
    """What a new ``django.core.signing.Signer`` makes of ``signed``'s payload."""
    payload = signed.rsplit(":", 1)[0]
    return django_signing.Signer(salt=salt, key=key).sign(payload)


def test_wire_format_is_djangos_signer_byte_for_byte():
    for c in (Conf({}), Conf({"name": "other"}), Conf({"compress": True})):
        signed = signing.dumps(PACKAGE, c)
        assert signed == _django_sign(signed, c.salt)
        header_text = signed.split(".", 1)[0]
        assert signing._unb64(header_text) == json.dumps(
            signing.header_of(PACKAGE), separators=(",", ":"), default=str).encode()
        assert signing.loads(signed, c) == PACKAGE


def test_one_signer_per_salt_is_reused():
    one, two = Conf({"name": "one"}), Conf({"name": "two"})
    assert signing._signer(one) is signing._signer(Conf({"name": "one"}))
    assert signing._signer(one) is not signing._signer(two)
    a, b = signing.dumps(PACKAGE, one), signing.dumps(PACKAGE, two)
    assert signing.loads(a, one) == signing.loads(b, two) == PACKAGE
    with pytest.raises(BadSignature):
        signing.loads(a, two)


def test_a_settings_reload_builds_a_new_signer():
    before = signing._signer(conf)
    conf.reload()
    assert signing._signer(conf) is not before


def test_new_secret_key_takes_effect_after_the_signer_was_cached(settings):
    old_signed = signing.dumps(PACKAGE)  # caches the signer for the old key
    old_key = settings.SECRET_KEY
    settings.SECRET_KEY = "rotated-key"
    new_signed = signing.dumps(PACKAGE)
    assert new_signed == _django_sign(new_signed, conf.salt, key="rotated-key")
    assert new_signed != old_signed
    with pytest.raises(BadSignature):
        signing.loads(old_signed)
    settings.SECRET_KEY_FALLBACKS = [old_key]  # rotation: old packages still verify
    assert signing.loads(old_signed) == PACKAGE
    assert signing.loads(new_signed) == PACKAGE
    settings.SECRET_KEY_FALLBACKS = []
    with pytest.raises(BadSignature):
        signing.loads(old_signed)


def test_explicit_conf_follows_the_secret_key_too(settings):
    """A hand-made ``Conf`` never reloads; the cache still notices the new key."""
    explicit = Conf({"name": "explicit"})
    signed = signing.dumps(PACKAGE, explicit)
    settings.SECRET_KEY = "another-key"
    with pytest.raises(BadSignature):
        signing.loads(signed, explicit)
    again = signing.dumps(PACKAGE, explicit)
    assert again == _django_sign(again, explicit.salt, key="another-key")
