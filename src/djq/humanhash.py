"""Human-readable task names: four words derived from the task's uuid.

``Task.name`` is this "humanized id" (``'winter-speaker-alpha-ceiling'``); like Django Q's,
it is a convenience and not guaranteed unique across very many tasks.
"""

from __future__ import annotations

import os

WORDS = (
    "ack alabama alanine alaska alpha angel apart april arizona arkansas artist "
    "asparagus aspen august autumn avocado bacon bakerloo batman beer berlin beryllium "
    "black blossom blue bluebird bravo bulldog burger butter california carbon cardinal "
    "carolina carpet cat ceiling charlie chicken coffee cola cold colorado comet "
    "connecticut crazy cup dakota december delaware delta diet don double early earth "
    "east echo edward eight eighteen eleven emma enemy equal failed fanta fifteen fillet "
    "finch fish five fix floor florida football four fourteen foxtrot freddie friend "
    "fruit gee georgia glucose golf green grey hamper happy harry hawaii helium high hot "
    "hotel hydrogen idaho illinois india indigo ink iowa island item jersey jig johnny "
    "juliet july jupiter kansas kentucky kilo king kitten lactose lake lamp lemon "
    "leopard lima lion lithium london louisiana low magazine magnesium maine mango march "
    "mars maryland massachusetts may mexico michigan mike minnesota mirror mississippi "
    "missouri mobile mockingbird monkey montana moon mountain muppet music nebraska "
    "neptune network nevada nine nineteen nitrogen north november nuts october ohio "
    "oklahoma one orange oranges oregon oscar oven oxygen papa paris pasta pennsylvania "
    "pip pizza pluto potato princess purple quebec queen quiet red river robert robin "
    "romeo rugby sad salami saturn september seven seventeen shade sierra single sink "
    "six sixteen skylark snake social sodium solar south spaghetti speaker spring "
    "stairway steak stream summer sweet table tango ten tennessee tennis texas thirteen "
    "three timing triple twelve twenty two uncle undress uniform uranus utah vegan venus "
    "vermont victor video violet virginia washington west whiskey white william winner "
    "winter wisconsin wolfram wyoming xray yankee yellow zebra zulu"
).split()

assert len(WORDS) == 256 and len(set(WORDS)) == 256


def humanize(hexdigest: str, words: int = 4) -> str:
    """Compress the digest's bytes into ``words`` bytes by XOR and map each to a word."""
    data = bytes.fromhex(hexdigest)
    size = len(data) // words
    out = []
    for i in range(words):
        chunk = data[i * size:(i + 1) * size] if i < words - 1 else data[i * size:]
        value = 0
        for byte in chunk:
            value ^= byte
        out.append(WORDS[value])
    return "-".join(out)


def uuid_and_name() -> tuple[str, str]:
    """A new task id (32 hex characters) and its humanized name.

    The id is a random (version 4) UUID's hex, built from the random bytes directly:
    ``uuid.uuid4()`` and ``humanize`` of its hex cost a few µs per task, this under one.
    The name equals ``humanize(tid)``: each word is the XOR of 4 of the 16 bytes.
    """
    raw = bytearray(os.urandom(16))
    raw[6] = (raw[6] & 0x0F) | 0x40  # version 4, as uuid.UUID(version=4) sets it
    raw[8] = (raw[8] & 0x3F) | 0x80  # RFC 4122 variant
    w = WORDS
    name = (f"{w[raw[0] ^ raw[1] ^ raw[2] ^ raw[3]]}-{w[raw[4] ^ raw[5] ^ raw[6] ^ raw[7]]}-"
            f"{w[raw[8] ^ raw[9] ^ raw[10] ^ raw[11]]}-{w[raw[12] ^ raw[13] ^ raw[14] ^ raw[15]]}")
    return raw.hex(), name
