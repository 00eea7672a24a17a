"""Secrets: a credential type that never prints, and scrubbing of secret values from text.

A leaf module (nothing from flowdeck), so the error module can scrub its own messages.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable, Iterator

import attrs


@attrs.frozen(repr=False)
class Secret:
    """A credential. Its ``repr`` and ``str`` never show the value; call :meth:`reveal` to use it.

    >>> Secret("sk-123")
    Secret('********')
    >>> f"[{Secret('sk-123'):>20}]"  # a format spec formats the masked text
    "[  Secret('********')]"
    """

    _value: str

    def reveal(self) -> str:
        """The secret value, for putting into a request and nowhere else."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        # object.__format__ refuses any spec, as in f"{key:>20}".
        return format(repr(self), spec)


MIN_EMBEDDED = 4  # shorter secrets are scrubbed only as whole words


def scrub(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every occurrence of each secret replaced by ``********``.

    A provider may echo a key in an error body ("invalid key sk-..."): messages, reprs and logs
    built from bodies go through here. Whatever the secrets are, the result contains none of them,
    except that a secret shorter than :data:`MIN_EMBEDDED` characters (no real key is) stays where it
    is part of a word: a key ``a`` would otherwise turn every message into asterisks. Standing alone
    (between spaces, quotes, punctuation) it is replaced like any other.

    >>> scrub('401: invalid key "sk-live-123"', ["sk-live-123"])
    '401: invalid key "********"'
    >>> scrub("databar get_task: HTTP 401: invalid key a", ["a"])
    'databar get_task: HTTP 401: invalid key ********'
    """
    # As is, JSON-escaped (raw bodies) and repr-escaped (``!r`` in messages).
    needles = {n: len(s) < MIN_EMBEDDED for s in secrets if s for n in (s, json.dumps(s)[1:-1], repr(s)[1:-1])}
    if not any(n in text for n in needles):
        return text
    # Mark each occurrence, then replace each marked run by one marker.
    covered = [False] * len(text)
    for needle in [n for n, short in needles.items() if not short]:
        start = text.find(needle)
        while start != -1:
            covered[start : start + len(needle)] = [True] * len(needle)
            start = text.find(needle, start + 1)
    # A short secret counts as a whole word of the result: a marked
    # neighbour becomes a marker, which may free another occurrence.
    changed = True
    while changed:
        changed = False
        for needle in [n for n, short in needles.items() if short]:
            start = text.find(needle)
            while start != -1:
                end = start + len(needle)
                if not all(covered[start:end]) and _edge(text, covered, start - 1) and _edge(text, covered, end):
                    covered[start:end] = [True] * len(needle)
                    changed = True
                start = text.find(needle, start + 1)
    # A character no secret has cannot form one with its neighbours.
    fill = next(c for c in _marker_chars() if not any(c in n for n in needles))
    out: list[str] = []
    for i, char in enumerate(text):
        if not covered[i]:
            out.append(char)
        elif i == 0 or not covered[i - 1]:
            out.append(fill * 8)
    return "".join(out)


def _edge(text: str, covered: list[bool], i: int) -> bool:
    """Whether position ``i`` ends a word in the scrubbed text: outside it, marked, or not a word character."""
    return not 0 <= i < len(text) or covered[i] or not (text[i].isalnum() or text[i] == "_")


def _marker_chars() -> Iterator[str]:
    yield from "*#~^"
    yield from map(chr, itertools.count(0x2588))  # block characters onward: one is free
