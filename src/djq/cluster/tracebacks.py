"""Traceback text back into structure, for error reporters.

A task fails in a worker process; what reaches the monitor is the text the worker recorded
(``repr(exc)`` and ``traceback.format_exception``) or the cluster's own one-line reason
(``"TimeoutError: Task exceeded ..."``). Reporting services want an exception type, a
message and frames, so this module parses that text. It understands Python's standard
format, including chained exceptions ("The above exception was the direct cause ...",
"During handling of the above exception ..."); anything else becomes one exception whose
message is the text.
"""

from __future__ import annotations

import re
from typing import Any

TRACEBACK_HEADER = "Traceback (most recent call last):"
_FRAME = re.compile(r'^  File "(?P<filename>.*)", line (?P<lineno>\d+), in (?P<function>.*)$')
_CHAIN = re.compile(r"\n\n(?:The above exception was the direct cause of the following "
                    r"exception:|During handling of the above exception, another exception "
                    r"occurred:)\n\n")
_TYPE = re.compile(r"^[A-Za-z_][\w.]*$")
_MARKERS = set("^~ ")  # the carets Python 3.11+ prints under a frame's code line


def split_error(text: str) -> tuple[str, str | None]:
    """``(head, traceback)``: what precedes the traceback (``repr(exc)``) and the
    traceback itself, or ``(text, None)`` when the text has none."""
    index = text.find(TRACEBACK_HEADER)
    if index < 0:
        return text, None
    return text[:index].strip(), text[index:]


def parse(text: str) -> list[dict[str, Any]]:
    """Exceptions in ``text``, oldest (the first cause) first, the failure itself last.

    Each is ``{"type", "module", "message", "frames"}``; ``module`` is ``None`` for
    built-in exceptions, frames are ``{"filename", "lineno", "function", "line"}`` with
    the most recent call last.
    """
    return [_parse_one(segment) for segment in _CHAIN.split(text.strip("\n"))]


def _parse_one(segment: str) -> dict[str, Any]:
    lines = segment.rstrip("\n").split("\n")
    frames: list[dict[str, Any]] = []
    i = 0
    if lines[0].startswith(TRACEBACK_HEADER):
        i = 1
        while i < len(lines):
            line = lines[i]
            match = _FRAME.match(line)
            if match:
                frames.append({"filename": match["filename"], "lineno": int(match["lineno"]),
                               "function": match["function"], "line": None})
            elif line.startswith("    ") and frames and frames[-1]["line"] is None \
                    and not set(line) <= _MARKERS:
                frames[-1]["line"] = line.strip()
            elif not line.startswith("  "):
                break  # the exception line: "module.Type: message"
            i += 1
    rest = lines[i:]
    head = rest[0] if rest else ""
    type_part, sep, message = head.partition(": ")
    if not _TYPE.match(type_part):
        type_part, message = "Error", "\n".join(rest).strip() or segment.strip()
    else:
        message = "\n".join([message, *rest[1:]]).strip() if sep else "\n".join(rest[1:]).strip()
    module, _, name = type_part.rpartition(".")
    return {"type": name, "module": module or None, "message": message, "frames": frames}
