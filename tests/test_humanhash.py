"""Task ids and names: random version-4 UUID hex, named by :func:`humanize` of the id."""

import re
import uuid

from djq.humanhash import WORDS, humanize, uuid_and_name


def test_ids_are_uuid4_hex_and_names_humanize_them():
    ids = set()
    for _ in range(2000):
        tid, name = uuid_and_name()
        parsed = uuid.UUID(tid)
        assert parsed.hex == tid and parsed.version == 4 and parsed.variant == uuid.RFC_4122
        assert name == humanize(tid)
        assert re.fullmatch(r"[a-z]+(-[a-z]+){3}", name)
        ids.add(tid)
    assert len(ids) == 2000


def test_humanize_xors_each_quarter_of_the_digest():
    assert humanize("00" * 16) == "-".join([WORDS[0]] * 4)
    digest = bytes([1, 2, 4, 8] + [0] * 4 + [255, 0, 0, 0] + [3, 3, 0, 0]).hex()
    assert humanize(digest) == "-".join([WORDS[15], WORDS[0], WORDS[255], WORDS[0]])
