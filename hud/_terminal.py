"""Text from a server, made safe to print on a terminal and short enough to read.

A job name, a status, an agent's exception text or a server's error detail may hold control sequences:
ESC starts sequences that retitle the window, clear the screen or erase lines; a carriage return or a
backspace overwrites what was printed; C1 controls (U+0080 to U+009F) act like ESC on some terminals;
bidirectional overrides reorder what is shown ("Trojan Source"). `printable` shows each as an escape
(`\\x1b`, `\\u202e`), as `repr` would, and leaves every other character alone.
"""

from __future__ import annotations

__all__ = ["printable", "shorten"]

_BIDI = (0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A))
_CONTROLS = (*range(0x00, 0x20), 0x7F, *range(0x80, 0xA0), *_BIDI)
_ESCAPES = {code: (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}") for code in _CONTROLS}
_ESCAPES.update({0x09: "\\t", 0x0A: "\\n", 0x0D: "\\r"})
_ESCAPES_KEEPING_LINES = {code: escape for code, escape in _ESCAPES.items() if code not in (0x09, 0x0A)}


def printable(text: str, *, keep_newlines: bool = False) -> str:
    """`text` with every control character escaped; newlines and tabs kept when `keep_newlines`.

    Example:
        >>> printable("name\\x1b]0;title\\x07")
        'name\\\\x1b]0;title\\\\x07'
    """
    return text.translate(_ESCAPES_KEEPING_LINES if keep_newlines else _ESCAPES)


def shorten(text: str, limit: int) -> str:
    """`text` in at most `limit` characters: when longer, cut and ending with how many were left out."""
    if len(text) <= limit:
        return text
    kept = max(0, limit - len(f"… ({len(text)} more characters)"))
    return f"{text[:kept]}… ({len(text) - kept} more characters)"
