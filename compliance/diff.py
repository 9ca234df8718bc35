"""What changed between two snapshots, as sentences a reader understands.

`snapshot_diff(old, new)` is a pure function over the plain dicts that
`build_snapshot()` returns: it reads no database and no clock, so the same
pair of snapshots always gives the same list of changes. Items are matched by
their stable keys (slugs, section keys), never by position, so reordering,
renaming and editing are told apart.

It is used by the staff preview (draft against live), the publication request
and approval screens, and the public changelog (each version against the one
before it). An empty list means the two snapshots render the same page.
"""

from dataclasses import dataclass
from typing import Any

# Keys that describe the snapshot rather than the page: never a change by themselves.
IGNORED_KEYS = frozenset({"schema_version", "content_updated_at"})

ADDED = "added"
REMOVED = "removed"
CHANGED = "changed"
MOVED = "moved"
REORDERED = "reordered"

ARROW = " -> "
EMPTY = "(none)"
# Texts longer than this are shown as the changed words with a little context.
SHORT_TEXT = 80


@dataclass(frozen=True)
class Change:
    """One difference between two snapshots.

    `area` is the snapshot key it belongs to ("subprocessors", "controls",
    "organization", ...), `key` the item's slug (or section key, or field name
    for the organization), `field` the changed field ("" for additions,
    removals and reorders). `text` is the sentence shown to people.
    """

    area: str
    action: str
    key: str
    field: str
    old: Any
    new: Any
    text: str

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True)
class _ListSpec:
    """How to speak about the items of one slugged list."""

    noun: str  # "Subprocessor"
    plural: str  # "subprocessors"
    name_field: str  # the field that names an item
    # (field, label): label None means the field is the item's main text and the
    # sentence reads "Name: old -> new"; otherwise "Name label: old -> new".
    fields: tuple[tuple[str, str | None], ...]
    # List-valued fields are told item by item: "Cloudflare certification added: ISO 27001".
    list_fields: tuple[tuple[str, str], ...] = ()


LIST_SPECS: dict[str, _ListSpec] = {
    "certifications": _ListSpec(
        noun="Certification",
        plural="certifications",
        name_field="name",
        fields=(("status", None), ("target", "target"), ("description", "description")),
    ),
    "subprocessors": _ListSpec(
        noun="Subprocessor",
        plural="subprocessors",
        name_field="name",
        fields=(("purpose", "purpose"), ("location", "location")),
        list_fields=(("certifications", "certification"),),
    ),
    "data_handling": _ListSpec(
        noun="Data handling entry",
        plural="data handling entries",
        name_field="category",
        fields=(("description", None),),
    ),
    "gdpr": _ListSpec(
        noun="GDPR statement",
        plural="GDPR statements",
        name_field="label",
        fields=(("body", None),),
    ),
    "contact_routes": _ListSpec(
        noun="Contact route",
        plural="contact routes",
        name_field="label",
        fields=(("email", "email"), ("topics", "topics")),
    ),
}

ORGANIZATION_LABELS: dict[str, str] = {
    "name": "Company name",
    "legal_name": "Legal name",
    "page_title": "Page title",
    "intro": "Introduction",
    "website": "Website",
    "contact_email": "Contact email",
    "security_email": "Security email",
    "preferred_languages": "Preferred languages",
}

# Order in which areas are reported; keys not named here follow, alphabetically.
AREA_ORDER = (
    "organization",
    "sections",
    "controls",
    "certifications",
    "subprocessors",
    "data_handling",
    "gdpr",
    "contact_routes",
)


# --- formatting -------------------------------------------------------------


def _show(value: Any) -> str:
    if value is None or value == "" or value == []:
        return EMPTY
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(_show(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_show(v)}" for k, v in value.items())
    return str(value)


def _excerpts(old: str, new: str) -> tuple[str, str]:
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


def _from_to(old: Any, new: Any) -> str:
    if isinstance(old, str) and isinstance(new, str) and old and new:
        old, new = _excerpts(old, new)
        return f"{old}{ARROW}{new}"
    return f"{_show(old)}{ARROW}{_show(new)}"


def _label_text(item: dict[str, Any]) -> str:
    label = str(item.get("status_label") or item.get("status") or "")
    return label[:1].lower() + label[1:] if label else label


def _subject(subject: str, label: str | None) -> str:
    return f"{subject} {label}" if label else subject


# --- areas ------------------------------------------------------------------


def _by_slug(items: Any, key: str = "slug") -> dict[str, dict[str, Any]]:
    if not isinstance(items, list):
        return {}
    return {str(item.get(key)): item for item in items if isinstance(item, dict)}


def _order_changed(old_keys: list[str], new_keys: list[str]) -> bool:
    common = set(old_keys) & set(new_keys)
    return [k for k in old_keys if k in common] != [k for k in new_keys if k in common]


def _name(item: dict[str, Any], field: str, fallback: str) -> str:
    return str(item.get(field) or fallback)


def _diff_list(area: str, spec: _ListSpec, old_items: Any, new_items: Any) -> list[Change]:
    old, new = _by_slug(old_items), _by_slug(new_items)
    changes: list[Change] = []
    for slug, item in new.items():
        name = _name(item, spec.name_field, slug)
        if slug not in old:
            changes.append(Change(area, ADDED, slug, "", None, name, f"{spec.noun} added: {name}"))
            continue
        before = old[slug]
        old_name = _name(before, spec.name_field, slug)
        if old_name != name:
            changes.append(
                Change(
                    area,
                    CHANGED,
                    slug,
                    spec.name_field,
                    old_name,
                    name,
                    f"{spec.noun} renamed: {old_name}{ARROW}{name}",
                )
            )
        for field, label in spec.fields:
            if field == "status":
                # The shown label is the visible value; the code behind it follows it.
                if (before.get("status"), before.get("status_label")) != (item.get("status"), item.get("status_label")):
                    old_label, new_label = _label_text(before), _label_text(item)
                    changes.append(
                        Change(
                            area,
                            CHANGED,
                            slug,
                            "status",
                            before.get("status"),
                            item.get("status"),
                            f"{_subject(name, label)}: {old_label}{ARROW}{new_label}",
                        )
                    )
                continue
            if before.get(field) != item.get(field):
                changes.append(
                    Change(
                        area,
                        CHANGED,
                        slug,
                        field,
                        before.get(field),
                        item.get(field),
                        f"{_subject(name, label)}: {_from_to(before.get(field), item.get(field))}",
                    )
                )
        for field, singular in spec.list_fields:
            changes.extend(_diff_values(area, slug, field, f"{name} {singular}", before.get(field), item.get(field)))
        known = (
            {"slug", spec.name_field, "status_label"} | {f for f, _ in spec.fields} | {f for f, _ in spec.list_fields}
        )
        changes.extend(_diff_extra_fields(area, slug, name, before, item, known))
    for slug, item in old.items():
        if slug not in new:
            name = _name(item, spec.name_field, slug)
            changes.append(Change(area, REMOVED, slug, "", name, None, f"{spec.noun} removed: {name}"))
    if _order_changed(list(old), list(new)):
        changes.append(
            Change(
                area,
                REORDERED,
                "",
                "",
                list(old),
                list(new),
                f"Order of {spec.plural} changed",
            )
        )
    return changes


def _diff_values(area: str, slug: str, field: str, subject: str, old: Any, new: Any) -> list[Change]:
    """A list of plain values (e.g. a subprocessor's certifications), told item by item."""
    old_list = old if isinstance(old, list) else ([] if old in (None, "") else [old])
    new_list = new if isinstance(new, list) else ([] if new in (None, "") else [new])
    if old_list == new_list:
        return []
    added = [v for v in new_list if v not in old_list]
    removed = [v for v in old_list if v not in new_list]
    changes = [Change(area, CHANGED, slug, field, None, v, f"{subject} added: {_show(v)}") for v in added] + [
        Change(area, CHANGED, slug, field, v, None, f"{subject} removed: {_show(v)}") for v in removed
    ]
    if not changes:  # same values, new order (or repeats)
        changes.append(
            Change(
                area,
                CHANGED,
                slug,
                field,
                old_list,
                new_list,
                f"{subject}s: {_from_to(old_list, new_list)}",
            )
        )
    return changes


def _diff_extra_fields(
    area: str,
    key: str,
    name: str,
    before: dict[str, Any],
    after: dict[str, Any],
    known: set[str],
) -> list[Change]:
    """Fields a later schema adds that no sentence was written for: still reported."""
    changes = []
    for field in sorted((set(before) | set(after)) - known):
        if before.get(field) != after.get(field):
            label = field.replace("_", " ")
            changes.append(
                Change(
                    area,
                    CHANGED,
                    key,
                    field,
                    before.get(field),
                    after.get(field),
                    f"{name} {label}: {_from_to(before.get(field), after.get(field))}",
                )
            )
    return changes


def _diff_organization(old: Any, new: Any) -> list[Change]:
    old = old if isinstance(old, dict) else {}
    new = new if isinstance(new, dict) else {}
    changes = []
    fields = list(ORGANIZATION_LABELS) + sorted((set(old) | set(new)) - set(ORGANIZATION_LABELS))
    for field in fields:
        if old.get(field) != new.get(field):
            label = ORGANIZATION_LABELS.get(field, field.replace("_", " ").capitalize())
            changes.append(
                Change(
                    "organization",
                    CHANGED,
                    field,
                    field,
                    old.get(field),
                    new.get(field),
                    f"{label}: {_from_to(old.get(field), new.get(field))}",
                )
            )
    return changes


def _diff_sections(old_sections: Any, new_sections: Any) -> list[Change]:
    old, new = _by_slug(old_sections, "key"), _by_slug(new_sections, "key")
    changes: list[Change] = []
    for key, section in new.items():
        title = _name(section, "title", key)
        if key not in old:
            changes.append(Change("sections", ADDED, key, "", None, title, f"Section added: {title}"))
            continue
        before = old[key]
        old_title = _name(before, "title", key)
        if old_title != title:
            changes.append(
                Change(
                    "sections",
                    CHANGED,
                    key,
                    "title",
                    old_title,
                    title,
                    f"Section renamed: {old_title}{ARROW}{title}",
                )
            )
        if before.get("intro") != section.get("intro"):
            changes.append(
                Change(
                    "sections",
                    CHANGED,
                    key,
                    "intro",
                    before.get("intro"),
                    section.get("intro"),
                    f"{title} introduction: {_from_to(before.get('intro'), section.get('intro'))}",
                )
            )
        changes.extend(_diff_extra_fields("sections", key, title, before, section, {"key", "title", "intro", "groups"}))
    for key, section in old.items():
        if key not in new:
            title = _name(section, "title", key)
            changes.append(Change("sections", REMOVED, key, "", title, None, f"Section removed: {title}"))
    if _order_changed(list(old), list(new)):
        changes.append(Change("sections", REORDERED, "", "", list(old), list(new), "Order of sections changed"))
    return changes


def _controls(sections: Any) -> dict[str, dict[str, Any]]:
    """Every control of every section, by slug, with where it stands."""
    out: dict[str, dict[str, Any]] = {}
    for section in sections if isinstance(sections, list) else []:
        if not isinstance(section, dict):
            continue
        for group in section.get("groups") or []:
            for item in group.get("items") or []:
                out[str(item.get("slug"))] = {
                    "item": item,
                    "section": section.get("key"),
                    "section_title": _name(section, "title", str(section.get("key"))),
                    "group": group.get("title") or "",
                }
    return out


def _diff_controls(old_sections: Any, new_sections: Any) -> list[Change]:
    old, new = _controls(old_sections), _controls(new_sections)
    changes: list[Change] = []
    for slug, where in new.items():
        item = where["item"]
        title = _name(item, "title", slug)
        if slug not in old:
            changes.append(
                Change(
                    "controls",
                    ADDED,
                    slug,
                    "",
                    None,
                    title,
                    f"Control added to {where['section_title']}: {title}",
                )
            )
            continue
        was = old[slug]
        before = was["item"]
        old_title = _name(before, "title", slug)
        if old_title != title:
            changes.append(
                Change(
                    "controls",
                    CHANGED,
                    slug,
                    "title",
                    old_title,
                    title,
                    f"Control renamed: {old_title}{ARROW}{title}",
                )
            )
        if was["section"] != where["section"]:
            changes.append(
                Change(
                    "controls",
                    MOVED,
                    slug,
                    "section",
                    was["section"],
                    where["section"],
                    f"{title} moved from {was['section_title']} to {where['section_title']}",
                )
            )
        if was["group"] != where["group"]:
            changes.append(
                Change(
                    "controls",
                    CHANGED,
                    slug,
                    "group",
                    was["group"],
                    where["group"],
                    f"{title} sub-heading: {_show(was['group'])}{ARROW}{_show(where['group'])}",
                )
            )
        if before.get("body") != item.get("body"):
            changes.append(
                Change(
                    "controls",
                    CHANGED,
                    slug,
                    "body",
                    before.get("body"),
                    item.get("body"),
                    f"{title}: {_from_to(before.get('body'), item.get('body'))}",
                )
            )
        if (before.get("status"), before.get("status_label")) != (item.get("status"), item.get("status_label")):
            changes.append(
                Change(
                    "controls",
                    CHANGED,
                    slug,
                    "status",
                    before.get("status"),
                    item.get("status"),
                    f"{title} status: {_label_text(before)}{ARROW}{_label_text(item)}",
                )
            )
        changes.extend(
            _diff_extra_fields(
                "controls",
                slug,
                title,
                before,
                item,
                {"slug", "title", "body", "status", "status_label"},
            )
        )
    for slug, was in old.items():
        if slug not in new:
            title = _name(was["item"], "title", slug)
            changes.append(
                Change(
                    "controls",
                    REMOVED,
                    slug,
                    "",
                    title,
                    None,
                    f"Control removed from {was['section_title']}: {title}",
                )
            )
    # Order within each section, among the controls that stayed in it.
    new_titles = {s.get("key"): _name(s, "title", str(s.get("key"))) for s in new_sections or [] if isinstance(s, dict)}
    for key, title in new_titles.items():
        old_order = [s for s, w in old.items() if w["section"] == key and s in new and new[s]["section"] == key]
        new_order = [s for s, w in new.items() if w["section"] == key and s in old and old[s]["section"] == key]
        if old_order != new_order:
            changes.append(
                Change(
                    "controls",
                    REORDERED,
                    str(key),
                    "",
                    old_order,
                    new_order,
                    f"Order of controls in {title} changed",
                )
            )
    return changes


def _diff_other(area: str, old: Any, new: Any) -> list[Change]:
    """Areas added to the snapshot after this module was written."""
    if old == new:
        return []
    label = area.replace("_", " ").capitalize()
    slugged = all(
        isinstance(v, list) and all(isinstance(i, dict) and "slug" in i for i in v) for v in (old or [], new or [])
    )
    if slugged:
        sample: dict[str, Any] = next(iter((new or []) + (old or [])), {})
        name_field = next((f for f in ("name", "title", "label", "category") if f in sample), "slug")
        fields = tuple((f, f.replace("_", " ")) for f in sample if f not in {"slug", name_field})
        spec = _ListSpec(noun=f"{label} item", plural=area.replace("_", " "), name_field=name_field, fields=fields)
        return _diff_list(area, spec, old or [], new or [])
    if isinstance(old, dict) and isinstance(new, dict):
        return _diff_extra_fields(area, area, label, old, new, set())
    return [Change(area, CHANGED, area, "", old, new, f"{label}: {_from_to(old, new)}")]


def snapshot_diff(old: dict[str, Any] | None, new: dict[str, Any] | None) -> list[Change]:
    """Every visible difference from `old` to `new`, in page order.

    `old` may be None (nothing published yet): then everything is "added".
    """
    old = old or {}
    new = new or {}
    changes: list[Change] = []
    changes += _diff_organization(old.get("organization"), new.get("organization"))
    changes += _diff_sections(old.get("sections"), new.get("sections"))
    changes += _diff_controls(old.get("sections"), new.get("sections"))
    for area, spec in LIST_SPECS.items():
        changes += _diff_list(area, spec, old.get(area), new.get(area))
    handled = set(AREA_ORDER) | IGNORED_KEYS
    for area in sorted((set(old) | set(new)) - handled):
        changes += _diff_other(area, old.get(area), new.get(area))
    return changes


def snapshots_differ(old: dict[str, Any] | None, new: dict[str, Any] | None) -> bool:
    """True when the two snapshots would render differently."""
    strip = lambda s: {k: v for k, v in (s or {}).items() if k not in IGNORED_KEYS}  # noqa: E731
    return strip(old) != strip(new)
