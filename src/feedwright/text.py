"""Small text helpers shared by sources and publishers (pure, no I/O)."""

from __future__ import annotations

import functools
import re
import unicodedata

# Characters XML 1.0 forbids: C0 controls except TAB/LF/CR, surrogates, U+FFFE/U+FFFF.
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def strip_xml_illegal(text: str) -> tuple[str, int]:
    """Remove characters XML 1.0 cannot carry; return the text and how many went."""
    cleaned, count = _XML_ILLEGAL.subn("", text)
    return cleaned, count


@functools.lru_cache(maxsize=8192)  # a site has few distinct names, used on every entry
def category_key(name: str) -> str:
    """The identity of a category: ``Tech``, ``tech`` and ``ＴＥＣＨ`` are one."""
    return " ".join(unicodedata.normalize("NFKC", name).casefold().split())
