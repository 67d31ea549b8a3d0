"""Bytes to text, for local posts and remote feeds: the one encoding guesser.

Both kinds of input meet the same legacy problem: Chinese text saved as
GBK/GB18030 without saying so, next to Western text in Latin-1/cp1252 that
decodes "cleanly" as GB18030 nonsense. :func:`looks_double_byte` tells them
apart for both; the two entry points differ only in what they do when it
fails::

    decode_post(raw)            BOM (UTF-8, UTF-16) -> UTF-8 -> GB18030 if it looks
                                double-byte -> DecodeError (a post is never guessed
                                into mojibake: the author can save it as UTF-8)
    decode_feed(raw, labels)    BOM -> the declared charsets (HTTP, XML declaration)
                                -> UTF-8 -> GB18030 or cp1252 by the same test, with a
                                note; mostly-UTF-8 bytes with a few bad ones keep
                                their good characters and only the bad bytes become
                                U+FFFD (noted), never the whole text re-read as cp1252
"""

from __future__ import annotations

import codecs
import re
import unicodedata
from collections.abc import Sequence


class DecodeError(ValueError):
    """The bytes are in no encoding we accept; ``str()`` says why, for the user."""


_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# Labels that really mean a superset, as browsers read them (WHATWG Encoding).
_SUPERSETS = {
    "gb2312": "gb18030", "gbk": "gb18030", "latin_1": "cp1252", "iso8859-1": "cp1252",
    "ascii": "cp1252",
}  # fmt: skip
# C1 controls and the private use area: real legacy text avoids these corners.
_LEGACY_SUSPECT = re.compile("[\x80-\x9f\ue000-\uf8ff]")


def looks_double_byte(raw: bytes) -> bool:
    """Whether the non-ASCII bytes come in GBK pairs (Chinese) rather than alone (Latin).

    In GBK text nearly every pair's second byte is >= 0x80; a Latin-1 ``è``
    before an ASCII letter (``Crème``) is a valid GBK pair too, but its
    "second byte" is ASCII. GB18030's four-byte sequences (a digit second)
    count as one character.
    """
    pairs = ascii_trail = 0
    i, n = 0, len(raw)
    while i < n:
        b = raw[i]
        if b < 0x80:
            i += 1
            continue
        trail = raw[i + 1] if i + 1 < n else 0
        if 0x30 <= trail <= 0x39:
            i += 4  # a GB18030 four-byte sequence
            continue
        pairs += 1
        ascii_trail += trail < 0x80
        i += 2
    return pairs > 0 and ascii_trail * 2 <= pairs


def _plausible(text: str) -> bool:
    """GB18030 maps almost any byte soup somewhere; real text avoids these corners."""
    if _LEGACY_SUSPECT.search(text):
        return False
    return all(unicodedata.category(c) not in ("Cn", "Co", "Cs") for c in set(text) if c > "\x7f")


def _mostly_utf8(raw: bytes) -> tuple[str, int] | None:
    """Bytes that are UTF-8 but for a few bad sequences: (text with U+FFFD for
    each bad one, how many), or None when the bad outnumber the good."""
    lenient = raw.decode("utf-8", "replace")
    bad = lenient.count("\ufffd") - raw.count(b"\xef\xbf\xbd")
    good = sum(1 for c in lenient if c > "\x7f" and c != "\ufffd")
    if bad > 0 and good >= bad:
        return lenient, bad
    return None


def decode_post(raw: bytes) -> tuple[str, str]:
    """A post file's text: UTF-8 (BOM or not), UTF-16 with a BOM, or
    GB18030/GBK; and the encoding it read: ``utf-8`` (the text is then the
    bytes after any BOM, character for character), ``utf-16`` or ``gb18030``.

    Raises DecodeError naming the offset of the first bad byte otherwise.
    """
    if raw.startswith(codecs.BOM_UTF8):
        encoding, data = "utf-8", raw[3:]
    elif raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding, data = "utf-16", raw
    else:
        encoding, data = "", raw
    if encoding:
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError as exc:
            name = encoding.upper()
            raise DecodeError(
                f"starts with a {name} byte order mark but is not {name}:"
                f" bad byte at offset {exc.start}"
            ) from None
    if raw.count(b"\x00") > len(raw) // 8:
        raise DecodeError("binary data or UTF-16 without a byte order mark")
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as exc:
        utf8_error = exc
    if _mostly_utf8(raw) is None and looks_double_byte(raw):
        try:
            text = raw.decode("gb18030")
        except UnicodeDecodeError:
            pass
        else:
            if _plausible(text):
                return text, "gb18030"
    raise DecodeError(
        f"not valid UTF-8 (bad byte at offset {utf8_error.start}) nor GB18030/GBK"
        " (Latin-1 or another legacy encoding?); save it as UTF-8"
    )


def codec_name(label: str | None) -> str | None:
    """The Python codec a charset label means (browser supersets applied), or None."""
    if not label:
        return None
    try:
        name = codecs.lookup(label.strip()).name
    except LookupError:
        return None
    return _SUPERSETS.get(name, name)


def _single_byte(codec: str) -> bool:
    return codec.startswith(("cp12", "iso8859", "latin", "mac-", "koi8", "cp8", "cp4"))


def decode_feed(raw: bytes, labels: Sequence[str | None] = ()) -> tuple[str, str | None]:
    """A remote document's text and a note when it was not read as declared.

    ``labels`` are the declared charsets, most authoritative first (the HTTP
    header, then the XML declaration). Never raises: the last resort is a
    lenient cp1252, noted.
    """
    for bom, name in _BOMS:
        if raw.startswith(bom):
            try:
                return raw[len(bom) :].decode(name), None
            except UnicodeDecodeError:
                break  # a lying BOM: fall through to the guesses
    # UTF-16 without a BOM still shows itself in the first "<?".
    if raw[:4] == b"<\x00?\x00":
        return _lenient(raw, "utf-16-le"), None
    if raw[:4] == b"\x00<\x00?":
        return _lenient(raw, "utf-16-be"), None

    utf8: str | None
    try:
        utf8 = raw.decode("utf-8")
    except UnicodeDecodeError:
        utf8 = None
    if utf8 is not None and raw.isascii():
        return utf8, None
    declared = [c for c in (codec_name(label) for label in labels) if c]
    for codec in declared:
        if utf8 is not None and codec != "utf-8" and _single_byte(codec):
            return utf8, f"declared {codec} but the bytes are UTF-8; read as UTF-8"
        if codec.startswith(("utf-16", "utf-32")) and not raw[:200].count(b"\x00"):
            continue  # a UTF-16 label on bytes without NULs is a lie
        try:
            return raw.decode(codec), None
        except (UnicodeDecodeError, LookupError):
            if codec == "utf-8" and (mostly := _mostly_utf8(raw)) is not None:
                text, bad = mostly
                return text, f"{bad} invalid UTF-8 byte sequence(s) replaced"
            continue
    said = f"declared {declared[0]} but " if declared else ""
    if utf8 is not None:
        return utf8, (f"{said}the bytes are UTF-8; read as UTF-8" if said else None)
    if not declared and (mostly := _mostly_utf8(raw)) is not None:
        text, bad = mostly
        return text, f"{bad} invalid UTF-8 byte sequence(s) replaced"
    guess = "gb18030" if looks_double_byte(raw) else "cp1252"
    try:
        text = raw.decode(guess)
    except UnicodeDecodeError:
        guess = "cp1252"
        text = _lenient(raw, "cp1252")
    return text, f"{said or 'no encoding declared; '}guessed {guess}"


def _lenient(raw: bytes, codec: str) -> str:
    try:
        return raw.decode(codec)
    except UnicodeDecodeError:
        # cp1252 leaves five bytes undefined; Latin-1 maps them, like browsers do.
        return raw.decode("latin-1") if codec == "cp1252" else raw.decode(codec, "replace")


__all__ = [
    "DecodeError",
    "codec_name",
    "decode_feed",
    "decode_post",
    "looks_double_byte",
]
