"""What a publication changes about subprocessors: a pure function over snapshots."""

from dataclasses import dataclass
from typing import Any

from compliance.diff import ADDED, CHANGED, REMOVED, Change, snapshot_diff

SUBPROCESSORS = "subprocessors"


@dataclass(frozen=True)
class SubprocessorChanges:
    """Subprocessor changes between two snapshots, matched by slug. A new order
    of the list is no change to anyone's data and is left out."""

    added: list[Change]
    removed: list[Change]
    changed: list[Change]
    # slug -> name of every subprocessor concerned (the name as it reads after
    # the change; a removed one by its last name).
    concerned: dict[str, str]

    def __bool__(self) -> bool:
        return bool(self.added or self.removed or self.changed)


def subprocessor_changes(old: dict[str, Any] | None, new: dict[str, Any] | None) -> SubprocessorChanges:
    """Compare the `subprocessors` of two snapshots. With no earlier snapshot
    (the first publication) nothing is announced as a change."""
    if old is None or new is None:
        return SubprocessorChanges([], [], [], {})
    changes = [c for c in snapshot_diff(old, new) if c.area == SUBPROCESSORS]
    names = {str(p.get("slug")): str(p.get("name") or p.get("slug")) for p in old.get(SUBPROCESSORS) or []}
    names.update({str(p.get("slug")): str(p.get("name") or p.get("slug")) for p in new.get(SUBPROCESSORS) or []})
    picked = {action: [c for c in changes if c.action == action] for action in (ADDED, REMOVED, CHANGED)}
    concerned = {c.key: names.get(c.key, c.key) for c in changes if c.action in picked and c.key}
    return SubprocessorChanges(picked[ADDED], picked[REMOVED], picked[CHANGED], concerned)
