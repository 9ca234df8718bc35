"""Removing a requester's personal data from text staff wrote about them.

Reasons, the verification method, the extension reason and attachment names
are evidence (why a ticket was rejected, how identity was confirmed), so the
retention purge keeps them, but with the requester's known personal values
taken out: their name and each word of it, every address of the ticket (any
case, with or without a "+tag", its local part alone and its words as a
name), the legal entity, the IP address and the longer form answers. Every
other email address in the text goes too, whoever it belongs to. The auditor's ticket view shows
staff text through the same function, so it never shows those values either.

What cannot be recognised (a phone number typed in a reason) stays; the
requests guide asks staff to keep such data to messages and notes, which
the purge empties.
"""

import re
from collections.abc import Iterable
from typing import Any

REMOVED = "[removed]"

# Any email address, in any case, "+tag" included; generous on purpose.
EMAIL_ADDRESS = re.compile(r"[\w.!#$%&'*+/=?^`{|}~-]+@[\w-]+(?:\.[\w-]+)+")
# A value matches only as a whole: not inside a longer run of letters or digits.
BEFORE, AFTER = r"(?<![^\W_])", r"(?![^\W_])"
# Form answers shorter than this (a "yes", a choice) are not hunted for in text.
MIN_ANSWER_LENGTH = 4
# Words of a name shorter than this are not hunted for on their own.
MIN_NAME_WORD_LENGTH = 2
# Between the words of a name or phrase, text may have any of these.
WORD_GAP = r"[\s._-]+"


def _strings(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)


def address_variants(address: str) -> set[str]:
    """An address and the parts of it that identify its owner on their own:
    the local part, and without its "+tag" the address and the local part,
    and the words of the local part as one phrase ("ann.lee" gives "ann lee",
    which `redact` finds as "Ann Lee" or "ann_lee"): a data-subject request
    names no one, but its address often does."""
    local, _, domain = address.strip().partition("@")
    if not local or not domain:
        return set()
    base = local.split("+", 1)[0]
    words = [word for word in re.split(r"[\W_\d]+", base) if word]
    phrase = " ".join(words) if len(words) > 1 else ""
    return {address.strip(), local, base, f"{base}@{domain}", phrase} - {""}


def personal_values(
    *,
    name: str = "",
    emails: Iterable[str] = (),
    others: Iterable[str] = (),
    answers: Any = None,
) -> set[str]:
    """The values `redact` takes out: a name and its words, the addresses and
    their variants, other values as given (legal entity, IP address), and the
    string form answers of at least MIN_ANSWER_LENGTH characters (addresses
    among them count as addresses)."""
    values: set[str] = set()
    name = " ".join(name.split())
    if name:
        values.add(name)
        values |= {word for word in re.split(r"[\W_]+", name) if len(word) >= MIN_NAME_WORD_LENGTH}
    answer_strings = [s.strip() for s in _strings(answers)]
    for address in [*emails, *(s for s in answer_strings if EMAIL_ADDRESS.fullmatch(s))]:
        values |= address_variants(address)
    values |= {value.strip() for value in others if value and value.strip()}
    values |= {s for s in answer_strings if len(s) >= MIN_ANSWER_LENGTH}
    return values


def redact(text: str, values: Iterable[str]) -> str:
    """`text` with every email address and each of `values` (case-insensitive,
    as whole words) replaced by REMOVED."""
    if not text:
        return text
    text = EMAIL_ADDRESS.sub(REMOVED, text)
    ordered = sorted({v for v in values if v}, key=lambda v: (-len(v), v))
    if not ordered:
        return text
    alternatives = "|".join(WORD_GAP.join(re.escape(word) for word in value.split()) for value in ordered)
    pattern = re.compile(BEFORE + "(?:" + alternatives + ")" + AFTER, re.IGNORECASE)
    return pattern.sub(REMOVED, text)


def ticket_personal_values(ticket: Any) -> set[str]:
    """The personal values of a ticket (or of one of its history rows)."""
    return personal_values(
        name=ticket.requester_name or "",
        emails=[e for e in (ticket.requester_email, ticket.account_email) if e],
        others=[ticket.legal_entity or "", str(ticket.submitted_ip or "")],
        answers=ticket.form_data,
    )
