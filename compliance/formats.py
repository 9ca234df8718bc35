"""Machine-readable renderings of a published snapshot.

Pure functions: each takes the snapshot dict of a publication together with
its version and effective time, and returns text or a dict. They read no
database and no settings, so the views, the system check, the admin banner
and the tests all compute exactly the same thing from the same inputs.

- `security_txt()`: the RFC 9116 file served at `/.well-known/security.txt`.
- `trust_document()`: the body of `trust.json`, described by
  `compliance/schema/trust.schema.json`.
- `update_document()`: one published update in trust.json.
- `feed_entry_html()`: the summary of one Atom feed entry.
"""

import hashlib
import json
from datetime import UTC, datetime, timedelta
from html import escape
from pathlib import Path
from typing import Any

from core.text import single_line, xml_text

Snapshot = dict[str, Any]
ChainHead = dict[str, Any]

SCHEMA_PATH = Path(__file__).resolve().parent / "schema" / "trust.schema.json"

# The section of the page that carries the disclosure policy (security.txt `Policy`).
DISCLOSURE_ANCHOR = "vulnerability-disclosure"
# Contact routes with this slug are listed in security.txt after the security e-mail.
SECURITY_ROUTE_SLUG = "security"
# RFC 9116 recommends `Expires` less than a year ahead.
MAX_EXPIRES_DAYS = 364


def rfc3339(moment: datetime) -> str:
    """`2026-11-29T08:00:00Z`: UTC, whole seconds, the form RFC 3339 readers accept most widely."""
    return moment.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def security_txt_expires(effective_at: datetime, days: int) -> datetime:
    """When the security.txt of a publication stops being valid.

    Counted from the publication's effective time, so every new publication
    renews it; whole seconds so that the served value and this one agree.
    """
    if not 1 <= days <= MAX_EXPIRES_DAYS:
        raise ValueError(f"security.txt validity must be 1 to {MAX_EXPIRES_DAYS} days, not {days}.")
    return (effective_at + timedelta(days=days)).replace(microsecond=0)


def security_contacts(snapshot: Snapshot) -> list[str]:
    """`Contact` URIs in order of preference: the organization's security
    e-mail, then every contact route whose slug is `security`. No duplicates."""
    emails = [snapshot.get("organization", {}).get("security_email", "")]
    emails += [
        route.get("email", "")
        for route in snapshot.get("contact_routes", [])
        if route.get("slug") == SECURITY_ROUTE_SLUG
    ]
    contacts: list[str] = []
    for email in emails:
        # One field per line by construction: a value can never add a line.
        email = "".join(single_line(email).split())
        uri = f"mailto:{email}"
        if email and uri not in contacts:
            contacts.append(uri)
    return contacts


def security_txt(
    snapshot: Snapshot,
    *,
    version: int,
    effective_at: datetime,
    site_url: str,
    expires_days: int,
    encryption_url: str = "",
) -> str:
    """The RFC 9116 security.txt of a publication.

    Raises ValueError when the snapshot names no contact: a file without a
    `Contact` field is invalid and must not be served.
    """
    contacts = security_contacts(snapshot)
    if not contacts:
        raise ValueError("The published content names no security contact.")
    site_url = site_url.rstrip("/")
    name = single_line(snapshot.get("organization", {}).get("name", ""))
    lines = [
        f"# Security contact{' for ' + name if name else ''}, from published version {version}.",
        *(f"Contact: {uri}" for uri in contacts),
        f"Expires: {rfc3339(security_txt_expires(effective_at, expires_days))}",
    ]
    if encryption_url:
        lines.append(f"Encryption: {single_line(encryption_url)}")
    languages = [single_line(lang) for lang in snapshot.get("organization", {}).get("preferred_languages", [])]
    if any(languages):
        lines.append(f"Preferred-Languages: {', '.join(lang for lang in languages if lang)}")
    lines.append(f"Canonical: {site_url}/.well-known/security.txt")
    lines.append(f"Policy: {site_url}/#{DISCLOSURE_ANCHOR}")
    return "\n".join(lines) + "\n"


def parse_security_txt(body: str) -> list[tuple[str, str]]:
    """The (field, value) pairs of a security.txt body, in order; comments and
    blank lines skipped. Field names keep their case as written."""
    fields: list[tuple[str, str]] = []
    for line in body.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, value = line.partition(":")
        if not sep:
            raise ValueError(f"Not a security.txt field line: {line!r}")
        fields.append((name.strip(), value.strip()))
    return fields


def trust_document(
    snapshot: Snapshot,
    *,
    version: int,
    effective_at: datetime,
    summary: str,
    chain_head: ChainHead | None,
    schema_url: str,
    evidence_log: dict[str, Any] | None = None,
    updates: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The body of trust.json: the published snapshot, unchanged, wrapped with
    what identifies the publication. The snapshot stays in its own key so a
    reader can compare or hash exactly what was published. `evidence_log`:
    where the signed checkpoints are and the keys that sign them. `updates`:
    the published updates (`update_document`), newest first."""
    document = {
        "$schema": schema_url,
        "version": version,
        "effective_at": rfc3339(effective_at),
        "summary": summary,
        "chain_head": chain_head,
        "snapshot": snapshot,
    }
    if evidence_log is not None:
        document["evidence_log"] = evidence_log
    if updates is not None:
        document["updates"] = updates
    return document


def update_document(
    content: dict[str, Any],
    *,
    revision: int,
    first_published_at: datetime,
    published_at: datetime,
    url: str,
) -> dict[str, Any]:
    """One published update in trust.json: its approved text (the body in
    Markdown, as written), when it was first published and last corrected."""
    effective_at = content.get("effective_at")
    return {
        "slug": content["slug"],
        "url": url,
        "title": content["title"],
        "category": content["category"],
        "body_markdown": content["body"],
        "concerns": list(content.get("concerns", [])),
        "effective_at": rfc3339(datetime.fromisoformat(effective_at)) if effective_at else None,
        "published_at": rfc3339(first_published_at),
        "revised_at": rfc3339(published_at),
        "revision": revision,
    }


def dump_json(document: Any) -> str:
    """Stable serialisation: sorted keys, so the same document is the same
    bytes whatever database stored it (PostgreSQL's jsonb reorders keys)."""
    return json.dumps(document, ensure_ascii=False, sort_keys=True, indent=2) + "\n"


def trust_schema() -> dict[str, Any]:
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


def body_etag(prefix: str, body: str | bytes) -> str:
    """An ETag naming the version and the exact bytes: a body can change
    without a new version (for example the evidence chain head moves)."""
    data = body.encode("utf-8") if isinstance(body, str) else body
    return f"{prefix}-{hashlib.sha256(data).hexdigest()[:16]}"


def feed_entry_html(summary: str, diff_lines: list[str], checkpoint: str = "") -> str:
    """The Atom entry summary: the publication's summary, then what changed,
    then the signed checkpoint of the evidence log that holds it (if one was
    signed), so feed readers keep copies outsiders can check the log against.

    Returned as escaped HTML (the feed declares `type="html"`), so content
    written by editors is shown as text and never interpreted as markup.
    """
    parts = []
    summary = xml_text(summary).strip()
    if summary:
        parts.append(f"<p>{escape(summary)}</p>")
    if diff_lines:
        items = "".join(f"<li>{escape(xml_text(line))}</li>" for line in diff_lines)
        parts.append(f"<ul>{items}</ul>")
    if not parts:
        parts.append("<p>No visible changes.</p>")
    if checkpoint:
        parts.append(
            f"<p>Signed checkpoint of the evidence log holding this version:</p><pre>{escape(checkpoint)}</pre>"
        )
    return "".join(parts)
