"""DNS name and text rendering as tshark shows it (escapes, UTF-8, U+FFFD), with bounded memos."""

from __future__ import annotations

import functools
import re
import unicodedata

_NAME_STEPS = 512  # labels + pointers walked for one name
_MAX_NAME = 253  # longest name tshark renders (255-byte buffer minus its bookkeeping)
_ROOT, _TOO_LONG = "<root>", "<name too long>"
_NOT_PLAIN = re.compile(rb"[^\x20-\x7e]")
_C_ESCAPES = {7: "\\a", 8: "\\b", 9: "\\t", 10: "\\n", 11: "\\v", 12: "\\f", 13: "\\r"}
_NON_PRINTABLE = frozenset({"Cc", "Cf", "Cn", "Cs"})


def format_text(raw: bytes) -> str:
    """Render bytes as tshark's ``format_text`` does: printable ASCII and valid UTF-8 as is,
    other ASCII as C escapes (octal when no letter escape exists), undecodable bytes as U+FFFD."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        if not _CONTROL.search(raw):
            # Without ASCII controls, a byte stands alone (ASCII as itself, others as U+FFFD) unless
            # it is a lead byte followed by continuation bytes: those decode together, and only they
            # (the bytes around them are no continuation bytes).
            parts = _SEQUENCE.split(raw)
            if len(parts) == 1:
                return raw.translate(_HIGH_TO_SUB).decode("ascii").replace("\x1a", "\ufffd")
            out = [""] * len(parts)
            out[0::2] = [
                p.translate(_HIGH_TO_SUB).decode("ascii").replace("\x1a", "\ufffd") for p in parts[0::2]
            ]
            out[1::2] = map(_sequence_text, parts[1::2])
            return "".join(out)
    else:
        if text.isprintable():
            return text
    return _char_by_char(raw)


def _char_by_char(raw: bytes) -> str:
    """format_text one (permissively decoded) character at a time."""
    out: list[str] = []
    i, n = 0, len(raw)
    while i < n:
        c = raw[i]
        i += 1
        if 0x20 <= c < 0x7F:
            out.append(chr(c))
        elif c < 0x80:
            out.append(_C_ESCAPES.get(c) or f"\\{c:03o}")
        else:
            uc, i = _utf8_char(raw, c, i)
            out.append(_unicode_text(uc))
    return "".join(out)


def _utf8_char(raw: bytes, lead: int, i: int) -> tuple[int, int]:
    """Decode one (permissive, possibly overlong) UTF-8 sequence; U+FFFD when invalid."""
    if lead >= 0xFE or lead < 0xC0:
        return 0xFFFD, i
    more = 1 if lead < 0xE0 else 2 if lead < 0xF0 else 3 if lead < 0xF8 else 4 if lead < 0xFC else 5
    uc = lead & (0x3F >> more)
    for _ in range(more):
        if i >= len(raw) or raw[i] & 0xC0 != 0x80:
            return 0xFFFD, i
        uc = (uc << 6) | (raw[i] & 0x3F)
        i += 1
    if uc >= 0x110000 or 0xD800 <= uc <= 0xDFFF:
        return 0xFFFD, i
    return uc, i


def _unicode_text(uc: int) -> str:
    ch = chr(uc)
    if unicodedata.category(ch) not in _NON_PRINTABLE:
        return ch
    return f"\\u{uc:04x}" if uc <= 0xFFFF else f"\\U{uc:08x}"


def _render_name(raw: bytes) -> str:
    """A name as shown: its labels joined by dots, rendered, lower case."""
    return raw.decode("ascii").lower() if not _NOT_PLAIN.search(raw) else format_text(raw).lower()


def _read_plain_labels(wire: bytes) -> tuple[str, int]:
    """(name, labels) of the usual name: uncompressed labels that fill ``wire``, the bytes up to the
    next zero, exactly and within the label budget of one name; else ("", -1) and _Reader._walk
    reads the name."""
    parts: list[bytes] = []
    pos = 0
    while pos < len(wire) and wire[pos] < 0x40:
        parts.append(wire[pos + 1 : pos + 1 + wire[pos]])
        pos += 1 + wire[pos]
    if pos != len(wire) or len(parts) >= _NAME_STEPS:
        return "", -1
    if not parts:
        return _ROOT, 0
    return (_TOO_LONG if pos > _MAX_NAME + 1 else _render(b".".join(parts))), len(parts)


_SEQUENCE = re.compile(rb"([\xc0-\xfd][\x80-\xbf]+)")  # a lead byte, its continuation bytes
_CONTROL = re.compile(rb"[\x00-\x1f\x7f]")
_HIGH_TO_SUB = bytes(range(0x80)) + b"\x1a" * 0x80  # 0x1a, a control, is not in the input
# Pure functions, memoised (bounded): names repeat across messages (a response repeats its query's).
_sequence_text = functools.lru_cache(maxsize=4096)(_char_by_char)
_render = functools.lru_cache(maxsize=4096)(_render_name)
_plain_labels = functools.lru_cache(maxsize=4096)(_read_plain_labels)
