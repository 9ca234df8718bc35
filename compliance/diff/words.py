"""How values read in a change sentence: shown whole, or cut to the changed words."""

from typing import Any

ARROW = " -> "
EMPTY = "(none)"
# Texts longer than this are shown as the changed words with a little context.
SHORT_TEXT = 80

# A control character (a line break in a one-line field, an escape) is shown
# as its Unicode "control picture", so that a reviewer sees it instead of a
# sentence that silently reads as two lines or as nothing.
_VISIBLE = {code: 0x2400 + code for code in range(0x20)} | {0x7F: 0x2421}


def visible(text: str) -> str:
    """`text` with every C0 control character and DEL shown as a visible symbol."""
    return text.translate(_VISIBLE)


def show(value: Any) -> str:
    if value is None or value == "" or value == []:
        return EMPTY
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(show(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}: {show(v)}" for k, v in value.items())
    return visible(str(value))


def excerpts(old: str, new: str) -> tuple[str, str]:
    """Short texts whole; long texts cut to the changed words and one word of
    context either side, so "72 hours" -> "48 hours" is not lost in a paragraph."""
    if len(old) <= SHORT_TEXT and len(new) <= SHORT_TEXT:
        return old, new
    a, b = old.split(), new.split()
    if a == b:
        return "(spacing only)", "(spacing only)"
    prefix = 0
    while prefix < min(len(a), len(b)) and a[prefix] == b[prefix]:
        prefix += 1
    suffix = 0
    while suffix < min(len(a), len(b)) - prefix and a[len(a) - 1 - suffix] == b[len(b) - 1 - suffix]:
        suffix += 1
    start = max(prefix - 1, 0)

    def cut(words: list[str]) -> str:
        end = min(len(words) - suffix + 1, len(words))
        text = " ".join(words[start:end])
        return ("…" if start > 0 else "") + (text or EMPTY) + ("…" if end < len(words) else "")

    return cut(a), cut(b)


def from_to(old: Any, new: Any) -> str:
    if isinstance(old, str) and isinstance(new, str) and old and new:
        old, new = excerpts(old, new)
        return f"{visible(old)}{ARROW}{visible(new)}"
    return f"{show(old)}{ARROW}{show(new)}"


def label_text(item: dict[str, Any]) -> str:
    label = str(item.get("status_label") or item.get("status") or "")
    return label[:1].lower() + label[1:] if label else label


def titled(name: str, label: str | None) -> str:
    """ "Name label", or the name alone for the entry's main text."""
    return f"{name} {label}" if label else name
