"""English pronunciations from pocketsphinx's cmudict, looked up without loading the whole dictionary.

The decoder's own loader parses all 135,000 entries when it starts: 0.2 s, a fifth of a cold ``vividtalk
animate`` on a short line, for the dozen words a line holds. The file is sorted by word (variants "word(2)"
right after "word"), so a lookup bisects its bytes in memory instead; the aligner starts with an empty
dictionary and is given just the words it aligns, with all their variants.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

_VARIANT = re.compile(rb"\(\d+\)$")


class CmuDict:
    """``pronunciations(word)``: the dictionary's pronunciations of ``word`` (space-separated ARPAbet with
    stress), the main one first, each with the name the dictionary gives it ("read", "read(2)")."""

    def __init__(self, path: str | os.PathLike) -> None:
        self._text = Path(path).read_bytes()

    def pronunciations(self, word: str) -> list[tuple[str, str]]:
        key = word.encode("utf-8")
        text = self._text
        start = self._first_line_from(key)
        found = []
        while start < len(text):
            end = text.find(b"\n", start)
            end = len(text) if end < 0 else end
            name, _, phones = text[start:end].partition(b" ")
            if _VARIANT.sub(b"", name) != key:
                break
            found.append((name.decode("utf-8"), " ".join(phones.decode("utf-8").split())))
            start = end + 1
        return found

    def _first_line_from(self, key: bytes) -> int:
        """Where the first line whose word (variant suffix dropped) is not below ``key`` starts."""
        text = self._text
        lo, hi = 0, len(text)  # lo is always a line's start
        while lo < hi:
            mid = (lo + hi) // 2
            start = text.rfind(b"\n", 0, mid) + 1
            end = text.find(b" ", start)
            if _VARIANT.sub(b"", text[start:end]) < key:
                newline = text.find(b"\n", start)
                lo = len(text) if newline < 0 else newline + 1
            else:
                hi = start
        return lo
