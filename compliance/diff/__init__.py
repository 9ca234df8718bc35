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

from .words import ARROW, from_to, label_text, show, titled

# Keys that describe the snapshot rather than the page: never a change by themselves.
IGNORED_KEYS = frozenset({"schema_version", "content_updated_at"})

ADDED = "added"
REMOVED = "removed"
CHANGED = "changed"
MOVED = "moved"
REORDERED = "reordered"


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


TEXT = "text"  # "Name label: old -> new", long texts cut to the changed words
STATUS = "status"  # the shown status label, compared with the code behind it
VALUES = "values"  # a list of plain values, told item by item
MOVED = "moved"  # where the entry sits: "Name moved from A to B"
SHOWN = "shown"  # short values shown whole: "Name label: old -> new"


@dataclass(frozen=True)
class _Field:
    """One compared field of an entry.

    `label` None means the field is the entry's main text and the sentence
    reads "Name: old -> new"; otherwise "Name label: old -> new".
    """

    name: str
    label: str | None = None
    kind: str = TEXT
    # The field named in the Change, when the entry holds it under another key.
    reported_as: str = ""


@dataclass(frozen=True)
class _ListSpec:
    """How to speak about the entries of one keyed list.

    Every keyed list of the snapshot (sections, controls, subprocessors, ...)
    is told by one skeleton, `_diff_entries`: added, renamed, changed field by
    field, removed, reordered. A spec names the words and the fields.
    """

    noun: str  # "Subprocessor"
    plural: str  # "subprocessors"
    name_field: str  # the field that names an entry
    fields: tuple[_Field, ...]
    # Fields that are neither compared nor reported as unknown.
    quiet: frozenset[str] = frozenset()
    # "Control added to <where>": the entry field naming where it sits.
    where_field: str | None = None
    # Order is compared within groups of entries sharing this field (None: the whole list).
    group_field: str | None = None


def _fields(*pairs: tuple[str, str | None], values: tuple[tuple[str, str], ...] = ()) -> tuple[_Field, ...]:
    plain = tuple(_Field(name, label, STATUS if name == "status" else TEXT) for name, label in pairs)
    return plain + tuple(_Field(name, label, VALUES) for name, label in values)


LIST_SPECS: dict[str, _ListSpec] = {
    "certifications": _ListSpec(
        noun="Certification",
        plural="certifications",
        name_field="name",
        fields=_fields(("status", None), ("target", "target"), ("description", "description")),
    ),
    "subprocessors": _ListSpec(
        noun="Subprocessor",
        plural="subprocessors",
        name_field="name",
        fields=_fields(("purpose", "purpose"), ("location", "location"), values=(("certifications", "certification"),)),
    ),
    "data_handling": _ListSpec(
        noun="Data handling entry",
        plural="data handling entries",
        name_field="category",
        fields=_fields(("description", None)),
    ),
    "gdpr": _ListSpec(
        noun="GDPR statement",
        plural="GDPR statements",
        name_field="label",
        fields=_fields(("body", None)),
    ),
    "contact_routes": _ListSpec(
        noun="Contact route",
        plural="contact routes",
        name_field="label",
        fields=_fields(("email", "email"), ("topics", "topics")),
    ),
}

SECTIONS = _ListSpec(
    noun="Section",
    plural="sections",
    name_field="title",
    fields=(_Field("intro", "introduction"),),
    quiet=frozenset({"groups"}),
)

# Controls are read out of their sections (see `_controls`); the keys
# starting with "_" say where each one sits.
CONTROLS = _ListSpec(
    noun="Control",
    plural="controls",
    name_field="title",
    fields=(
        _Field("_section", kind=MOVED, reported_as="section"),
        _Field("_group", "sub-heading", SHOWN, reported_as="group"),
        _Field("body"),
        _Field("status", "status", STATUS),
    ),
    quiet=frozenset({"_section_title"}),
    where_field="_section_title",
    group_field="_section",
)

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


# --- one skeleton for every keyed list -----------------------------------------


def _by_key(items: Any, key: str = "slug") -> dict[str, dict[str, Any]]:
    if not isinstance(items, list):
        return {}
    return {str(item.get(key)): item for item in items if isinstance(item, dict)}


def _name(item: dict[str, Any], field: str, fallback: str) -> str:
    return str(item.get(field) or fallback)


def _field_changes(
    area: str, key: str, name: str, field: _Field, before: dict[str, Any], after: dict[str, Any]
) -> list[Change]:
    old, new = before.get(field.name), after.get(field.name)
    reported = field.reported_as or field.name
    subject = titled(name, field.label)
    if field.kind == STATUS:
        if (old, before.get("status_label")) == (new, after.get("status_label")):
            return []
        return [
            Change(area, CHANGED, key, reported, old, new, f"{subject}: {label_text(before)}{ARROW}{label_text(after)}")
        ]
    if old == new:
        return []
    if field.kind == VALUES:
        return _diff_values(area, key, reported, f"{name} {field.label}", old, new)
    if field.kind == MOVED:
        where = f"{name} moved from {before.get('_section_title')} to {after.get('_section_title')}"
        return [Change(area, MOVED, key, reported, old, new, where)]
    shown = f"{show(old)}{ARROW}{show(new)}" if field.kind == SHOWN else from_to(old, new)
    return [Change(area, CHANGED, key, reported, old, new, f"{subject}: {shown}")]


def _diff_entries(
    area: str, spec: _ListSpec, old: dict[str, dict[str, Any]], new: dict[str, dict[str, Any]]
) -> list[Change]:
    """Added, renamed, changed, removed and reordered entries of one keyed list, in that order."""
    changes: list[Change] = []
    known = {"slug", "key", "status_label", spec.name_field} | {f.name for f in spec.fields} | spec.quiet

    def where(entry: dict[str, Any], preposition: str) -> str:
        return f" {preposition} {entry[spec.where_field]}" if spec.where_field else ""

    for key, entry in new.items():
        name = _name(entry, spec.name_field, key)
        if key not in old:
            changes.append(Change(area, ADDED, key, "", None, name, f"{spec.noun} added{where(entry, 'to')}: {name}"))
            continue
        before = old[key]
        old_name = _name(before, spec.name_field, key)
        if old_name != name:
            text = f"{spec.noun} renamed: {old_name}{ARROW}{name}"
            changes.append(Change(area, CHANGED, key, spec.name_field, old_name, name, text))
        for field in spec.fields:
            changes += _field_changes(area, key, name, field, before, entry)
        changes += _diff_extra_fields(area, key, name, before, entry, known)
    for key, entry in old.items():
        if key not in new:
            name = _name(entry, spec.name_field, key)
            text = f"{spec.noun} removed{where(entry, 'from')}: {name}"
            changes.append(Change(area, REMOVED, key, "", name, None, text))
    changes += _diff_order(area, spec, old, new)
    return changes


def _diff_order(
    area: str, spec: _ListSpec, old: dict[str, dict[str, Any]], new: dict[str, dict[str, Any]]
) -> list[Change]:
    """A change of order among the entries that stayed (in the same group, if grouped)."""

    def group(entry: dict[str, Any]) -> str:
        return str(entry.get(spec.group_field, "")) if spec.group_field else ""

    changes = []
    for name in dict.fromkeys(group(entry) for entry in new.values()):
        stayed = [k for k, e in new.items() if group(e) == name and k in old and group(old[k]) == name]
        old_order = [k for k, e in old.items() if group(e) == name and k in stayed]
        if old_order != stayed:
            if spec.group_field:
                title = next(e[spec.where_field or spec.group_field] for e in new.values() if group(e) == name)
                changes.append(
                    Change(area, REORDERED, name, "", old_order, stayed, f"Order of {spec.plural} in {title} changed")
                )
            else:
                changes.append(Change(area, REORDERED, "", "", list(old), list(new), f"Order of {spec.plural} changed"))
    return changes


def _diff_values(area: str, slug: str, field: str, subject: str, old: Any, new: Any) -> list[Change]:
    """A list of plain values (e.g. a subprocessor's certifications), told item by item."""
    old_list = old if isinstance(old, list) else ([] if old in (None, "") else [old])
    new_list = new if isinstance(new, list) else ([] if new in (None, "") else [new])
    if old_list == new_list:
        return []
    added = [v for v in new_list if v not in old_list]
    removed = [v for v in old_list if v not in new_list]
    changes = [Change(area, CHANGED, slug, field, None, v, f"{subject} added: {show(v)}") for v in added] + [
        Change(area, CHANGED, slug, field, v, None, f"{subject} removed: {show(v)}") for v in removed
    ]
    if not changes:  # same values, new order (or repeats)
        changes.append(
            Change(area, CHANGED, slug, field, old_list, new_list, f"{subject}s: {from_to(old_list, new_list)}")
        )
    return changes


def _diff_extra_fields(
    area: str, key: str, name: str, before: dict[str, Any], after: dict[str, Any], known: set[str]
) -> list[Change]:
    """Fields a later schema adds that no sentence was written for: still reported."""
    changes = []
    for field in sorted((set(before) | set(after)) - known):
        if before.get(field) != after.get(field):
            label = field.replace("_", " ")
            text = f"{name} {label}: {from_to(before.get(field), after.get(field))}"
            changes.append(Change(area, CHANGED, key, field, before.get(field), after.get(field), text))
    return changes


def _diff_organization(old: Any, new: Any) -> list[Change]:
    old = old if isinstance(old, dict) else {}
    new = new if isinstance(new, dict) else {}
    changes = []
    fields = list(ORGANIZATION_LABELS) + sorted((set(old) | set(new)) - set(ORGANIZATION_LABELS))
    for field in fields:
        if old.get(field) != new.get(field):
            label = ORGANIZATION_LABELS.get(field, field.replace("_", " ").capitalize())
            text = f"{label}: {from_to(old.get(field), new.get(field))}"
            changes.append(Change("organization", CHANGED, field, field, old.get(field), new.get(field), text))
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
                    **item,
                    "_section": section.get("key"),
                    "_section_title": _name(section, "title", str(section.get("key"))),
                    "_group": group.get("title") or "",
                }
    return out


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
        fields = tuple(_Field(f, f.replace("_", " ")) for f in sample if f not in {"slug", name_field})
        spec = _ListSpec(noun=f"{label} item", plural=area.replace("_", " "), name_field=name_field, fields=fields)
        return _diff_entries(area, spec, _by_key(old or []), _by_key(new or []))
    if isinstance(old, dict) and isinstance(new, dict):
        return _diff_extra_fields(area, area, label, old, new, set())
    return [Change(area, CHANGED, area, "", old, new, f"{label}: {from_to(old, new)}")]


def snapshot_diff(old: dict[str, Any] | None, new: dict[str, Any] | None) -> list[Change]:
    """Every visible difference from `old` to `new`, in page order.

    `old` may be None (nothing published yet): then everything is "added".
    """
    old = old or {}
    new = new or {}
    changes: list[Change] = []
    changes += _diff_organization(old.get("organization"), new.get("organization"))
    changes += _diff_entries(
        "sections", SECTIONS, _by_key(old.get("sections"), "key"), _by_key(new.get("sections"), "key")
    )
    changes += _diff_entries("controls", CONTROLS, _controls(old.get("sections")), _controls(new.get("sections")))
    for area, spec in LIST_SPECS.items():
        changes += _diff_entries(area, spec, _by_key(old.get(area)), _by_key(new.get(area)))
    handled = set(AREA_ORDER) | IGNORED_KEYS
    for area in sorted((set(old) | set(new)) - handled):
        changes += _diff_other(area, old.get(area), new.get(area))
    return changes


def snapshots_differ(old: dict[str, Any] | None, new: dict[str, Any] | None) -> bool:
    """True when the two snapshots would render differently."""
    strip = lambda s: {k: v for k, v in (s or {}).items() if k not in IGNORED_KEYS}  # noqa: E731
    return strip(old) != strip(new)
