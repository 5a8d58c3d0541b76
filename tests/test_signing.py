"""Signed packages: tampering, foreign keys and salts, key rotation, compression."""

import pickle

import pytest
from django.core import signing as django_signing

from djq import signing
from djq.conf import Conf
from djq.errors import BadSignature

PACKAGE = {"id": "a" * 32, "name": "alpha-bravo-charlie-delta", "func": "math.floor",
           "args": (1.5,), "kwargs": {}, "group": "g", "cached": False, "save": None,
           "ack_failure": False}


def test_round_trip():
    assert signing.loads(signing.dumps(PACKAGE)) == PACKAGE


def test_tampered_body_is_never_deserialized(monkeypatch):
    signed = signing.dumps(PACKAGE)
    header, rest = signed.split(".", 1)
    flag_body, signature = rest.rsplit(":", 1)
    evil = pickle.dumps({"func": "os.system", "args": ("echo pwned",)})
    import base64

    forged = f"{header}.-{base64.urlsafe_b64encode(evil).rstrip(b'=').decode()}:{signature}"
    calls = []
    monkeypatch.setattr(pickle, "loads", lambda *a, **k: calls.append(a))
    with pytest.raises(BadSignature):
        signing.loads(forged)
    assert calls == []


def test_other_secret_key_is_refused(settings):
    signed = signing.dumps(PACKAGE)
    settings.SECRET_KEY = "another-key"
    with pytest.raises(BadSignature):
        signing.loads(signed)


def test_other_cluster_name_is_refused():
    signed = signing.dumps(PACKAGE, Conf({"name": "one"}))
    with pytest.raises(BadSignature):
        signing.loads(signed, Conf({"name": "two"}))


def test_key_rotation_accepts_fallback_keys(settings):
    signed = signing.dumps(PACKAGE)
    old = settings.SECRET_KEY
    settings.SECRET_KEY = "the-new-key"
    settings.SECRET_KEY_FALLBACKS = [old]
    assert signing.loads(signed) == PACKAGE
    settings.SECRET_KEY_FALLBACKS = []
    with pytest.raises(BadSignature):
        signing.loads(signed)


def test_compress_shrinks_large_packages():
    big = {**PACKAGE, "args": ("x" * 10_000,)}
    plain = signing.dumps(big, Conf({}))
    packed = signing.dumps(big, Conf({"compress": True}))
    assert len(packed) < len(plain) / 10
    assert signing.loads(packed, Conf({"compress": True})) == big


def test_unreadable_body_keeps_the_header():
    conf = Conf({"serializer": "json"})
    signed = signing.dumps(PACKAGE, Conf({}))  # pickled body, read as json
    with pytest.raises(signing.UnreadablePackage) as info:
        signing.loads(signed, conf)
    assert info.value.header["id"] == PACKAGE["id"]
    assert info.value.header["group"] == "g"


def test_garbage_is_a_bad_signature():
    with pytest.raises(BadSignature):
        signing.loads("not a package")
    assert not isinstance(django_signing.BadSignature(), BadSignature)
