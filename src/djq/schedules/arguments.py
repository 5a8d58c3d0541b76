"""A schedule's ``args`` and ``kwargs``: Python literals kept as text (admin-editable).

Accepted forms, as in Django Q's admin:

* ``args``: ``1, 2, 'John'`` or ``(1, 2)``; one value that is not a tuple is one argument.
* ``kwargs``: ``x=1, name='John'`` or ``{'x': 1}``; ``q_options={...}`` inside carries task
  options (``timeout``, ``group``...), as ``schedule(q_options=...)`` stores them.

Only literals are evaluated (``ast.literal_eval``): no names, calls or attributes, so text
typed in the admin never runs code in the scheduler.
"""

from __future__ import annotations

import ast
from typing import Any


class ArgumentsError(ValueError):
    """``args`` or ``kwargs`` text that is not made of Python literals."""


def parse_args(text: str | None) -> tuple:
    if not text or not text.strip():
        return ()
    try:
        value = ast.literal_eval(text.strip())
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError) as exc:
        raise ArgumentsError(f"args {text!r} are not Python literals "
                             f"(e.g. 1, 2, 'John'): {exc}") from None
    return value if isinstance(value, tuple) else (value,)


def parse_kwargs(text: str | None) -> dict[str, Any]:
    if not text or not text.strip():
        return {}
    try:
        call = ast.parse(f"f({text.strip()})", mode="eval").body
    except SyntaxError as exc:
        raise ArgumentsError(f"kwargs {text!r} are not x=1, y='a' or a dict: {exc.msg}") \
            from None
    result: dict[str, Any] = {}
    try:
        for node in call.args:  # a dict given whole: {'x': 1}
            value = ast.literal_eval(node)
            if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
                raise ValueError("a positional value must be a dict with string keys")
            result.update(value)
        for keyword in call.keywords:  # x=1, or **{'x': 1}
            value = ast.literal_eval(keyword.value)
            if keyword.arg is None:
                if not isinstance(value, dict):
                    raise ValueError("** needs a dict")
                result.update(value)
            else:
                result[keyword.arg] = value
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError) as exc:
        raise ArgumentsError(f"kwargs {text!r} are not Python literals "
                             f"(e.g. x=1, name='John'): {exc}") from None
    return result


def literal_text(value: Any, what: str) -> str:
    """``repr(value)``, refused unless it reads back as the same value (schedules keep
    arguments as text, so only literals can be scheduled)."""
    text = repr(value)
    try:
        same = ast.literal_eval(text) == value
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        same = False
    if not same:
        raise ArgumentsError(
            f"Schedule {what} must be Python literals (numbers, strings, bytes, booleans, "
            f"None, and tuples, lists, dicts and sets of them); {text[:100]} is not. Pass "
            "ids or strings and load objects inside the task.")
    return text
