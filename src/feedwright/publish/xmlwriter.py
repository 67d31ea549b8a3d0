"""A small streaming XML writer: pretty-printed text, escaped as lxml escapes it.

Feeds are a fixed shape (elements holding either text or other elements,
never both), so they are written straight into a list of strings rather
than built as a tree and serialised. The output is byte-for-byte what
``lxml.etree.tostring(doc, pretty_print=True, encoding="UTF-8",
xml_declaration=True)`` gives for the same tree: two-space indentation,
``<a/>`` for an element without text, ``<a></a>`` for one with empty text,
and libxml2's escaping (``&#13;`` for a carriage return, ``&#10;``/``&#9;``
in attribute values). Like lxml, it refuses characters XML 1.0 cannot carry.
"""

from __future__ import annotations

from collections.abc import Iterable

Attrs = Iterable[tuple[str, str]]

DECLARATION = "<?xml version='1.0' encoding='UTF-8'?>\n"
# The characters lxml refuses in text and attribute values are the set
# text.strip_xml_illegal removes upstream: C0 controls but tab, newline and
# carriage return; lone surrogates; U+FFFE and U+FFFF. Bytes of the first
# kind map to 0 here, every other byte to 1.
_CONTROL_TABLE = bytes(0 if i < 0x20 and i not in (0x09, 0x0A, 0x0D) else 1 for i in range(256))
_COPY_LIMIT = 512
_ILLEGAL_MESSAGE = (
    "All strings must be XML compatible: Unicode or ASCII, no NULL bytes or control characters"
)


def escape_text(text: str) -> str:
    """Character data as libxml2 writes it."""
    if "&" in text:
        text = text.replace("&", "&amp;")
    if "<" in text:
        text = text.replace("<", "&lt;")
    if ">" in text:
        text = text.replace(">", "&gt;")
    if "\r" in text:
        text = text.replace("\r", "&#13;")
    return text


def escape_attr(value: str) -> str:
    """An attribute value (always in double quotes) as libxml2 writes it."""
    value = escape_text(value)
    if '"' in value:
        value = value.replace('"', "&quot;")
    if "\n" in value:
        value = value.replace("\n", "&#10;")
    if "\t" in value:
        value = value.replace("\t", "&#9;")
    return value


def encode(doc: str) -> bytes:
    """``doc`` as UTF-8; ValueError, as lxml gives, if it holds a character XML cannot carry.

    Substring searches and ``bytes.translate`` are several times faster than
    a character-class regex, which matters for documents of hundreds of
    megabytes. Encoding to UTF-8 refuses lone surrogates by itself.
    """
    if "\ufffe" in doc or "\uffff" in doc:
        raise ValueError(_ILLEGAL_MESSAGE)
    try:
        data = doc.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(_ILLEGAL_MESSAGE) from None
    if b"\x00" in data.translate(_CONTROL_TABLE):
        raise ValueError(_ILLEGAL_MESSAGE)
    return data


def _attrs(attrs: Attrs) -> str:
    out = ""
    for name, value in attrs:
        out += f' {name}="{escape_attr(value)}"'
    return out


class XmlWriter:
    """Append-only document: ``start``/``end`` for elements that hold elements,
    ``leaf`` for elements that hold text (or nothing)."""

    __slots__ = ("_depth", "_parts", "_tags")

    def __init__(self) -> None:
        self._parts: list[str] = [DECLARATION]
        self._tags: list[str] = []
        self._depth = ""

    def start(self, tag: str, attrs: Attrs = ()) -> None:
        self._parts.append(f"{self._depth}<{tag}{_attrs(attrs) if attrs else ''}>\n")
        self._tags.append(tag)
        self._depth += "  "

    def end(self) -> None:
        self._depth = self._depth[:-2]
        self._parts.append(f"{self._depth}</{self._tags.pop()}>\n")

    def leaf(self, tag: str, text: str | None = None, attrs: Attrs = ()) -> None:
        """``text`` is escaped here; ``None`` writes an empty element."""
        attributes = _attrs(attrs) if attrs else ""
        if text is None:
            self._parts.append(f"{self._depth}<{tag}{attributes}/>\n")
        else:
            self.raw_leaf(tag, escape_text(text), attributes)

    def raw_leaf(self, tag: str, escaped: str, attributes: str = "") -> None:
        """A text element whose text (and rendered attributes) the caller has escaped."""
        if len(escaped) < _COPY_LIMIT:
            self._parts.append(f"{self._depth}<{tag}{attributes}>{escaped}</{tag}>\n")
        else:
            # Long texts (entry bodies) are copied once, by the final join.
            self._parts += (f"{self._depth}<{tag}{attributes}>", escaped, f"</{tag}>\n")

    def take(self) -> bytes:
        """What was written since the last ``take`` (or the start), as UTF-8,
        checked as :func:`encode` checks it; elements may still be open.

        A caller that joins the pieces itself can encode a piece it writes into
        many documents once (an entry in every feed it is in), not once per
        document.
        """
        data = encode("".join(self._parts))
        self._parts = []
        return data

    def getvalue(self) -> bytes:
        """The UTF-8 document (what ``take`` left); every element must have been closed."""
        if self._tags:
            raise ValueError(f"unclosed elements: {self._tags}")
        return self.take()


__all__ = ["XmlWriter", "encode", "escape_attr", "escape_text"]
