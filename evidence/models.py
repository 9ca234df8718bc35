"""The evidence ledger: a hash chain over the change history of page content
and over publications.

The chain lives in its own append-only table (`ChainLink`) rather than in
fields on the chained rows: history rows of several models and publications
share one gapless sequence, which no single table can hold; the chained tables
stay exactly as simple-history and the publishing code define them; and the
ledger can be indexed for the audit log (model, actor, time) without touching
them. `ChainHead` is the single row every writer locks to take the next
sequence number, and it records the newest sequence and hash so that a cut
tail shows.
"""

from datetime import datetime

from django.db import models

from .canonical import GENESIS_HASH
from .enums import CheckpointReason
from .registry import ChainSpec

HEAD_ID = 1


class ChainHead(models.Model):
    id = models.PositiveSmallIntegerField(primary_key=True, default=HEAD_ID)
    seq = models.BigIntegerField(default=0, help_text="Sequence number of the newest link.")
    hash = models.CharField(max_length=64, default=GENESIS_HASH, help_text="Hash of the newest link.")
    recorded_at = models.DateTimeField(null=True, blank=True, help_text="Time of the newest link.")

    class Meta:
        verbose_name = "chain head"
        default_permissions = ("view",)
        constraints = [models.CheckConstraint(condition=models.Q(id=HEAD_ID), name="chainhead_single_row")]

    def __str__(self) -> str:
        return f"{self.seq}:{self.hash}"


class ChainSchema(models.Model):
    """The field names a row's hash covers, per model and shape of its table.

    A link names the schema its row was hashed with, so adding a column to a
    history table later does not change the hash of rows chained before.
    """

    model_label = models.CharField(max_length=100)
    fields = models.TextField(help_text="Comma-separated attribute names, sorted.")

    class Meta:
        verbose_name = "chain schema"
        default_permissions = ("view",)
        constraints = [models.UniqueConstraint(fields=["model_label", "fields"], name="chainschema_unique")]

    def __str__(self) -> str:
        return f"{self.model_label}({self.fields})"

    @property
    def attnames(self) -> list[str]:
        return self.fields.split(",")


class ChainLink(models.Model):
    seq = models.BigIntegerField(primary_key=True, help_text="Gapless, starting at 1.")
    model_label = models.CharField(max_length=100, help_text="app_label.model of the chained row.")
    row_pk = models.BigIntegerField()
    schema = models.ForeignKey(ChainSchema, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(
        help_text="When the link was appended; never earlier than the link before it, so a "
        "date range maps to one contiguous range of sequence numbers."
    )
    actor_id = models.BigIntegerField(null=True, blank=True, help_text="User the chained row names.")
    actor_username = models.CharField(
        max_length=150,
        blank=True,
        db_default="",
        help_text="That user's username when the link was written (format 2 on): renames do not rewrite history.",
    )
    format = models.PositiveSmallIntegerField(
        db_default=1,
        help_text="How the link's hash is computed: 1 (before usernames were frozen), 2 (covers actor_username).",
    )
    row_hash = models.CharField(max_length=64)
    prev_hash = models.CharField(max_length=64)
    link_hash = models.CharField(max_length=64)

    class Meta:
        verbose_name = "chain link"
        ordering = ["seq"]
        default_permissions = ("view",)
        constraints = [
            models.UniqueConstraint(fields=["model_label", "row_pk"], name="chainlink_row_once"),
        ]
        indexes = [
            models.Index(fields=["model_label", "seq"], name="chainlink_model_seq"),
            models.Index(fields=["actor_id", "seq"], name="chainlink_actor_seq"),
            models.Index(fields=["recorded_at", "seq"], name="chainlink_time_seq"),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.model_label}:{self.row_pk}"


class AuditLog(ChainLink):
    """The audit log as the admin and the permissions see it."""

    class Meta:
        proxy = True
        verbose_name = "audit log"
        verbose_name_plural = "audit log"
        default_permissions = ("view",)
        permissions = [("export_auditlog", "Can export the audit log")]


class PurgeRecord(models.Model):
    """A run of the retention purge, the one path allowed to rewrite history tables."""

    chain_spec = ChainSpec(time_field="ran_at", action="purged history")

    ran_at = models.DateTimeField()
    reason = models.CharField(max_length=300)
    reference = models.CharField(
        max_length=40,
        blank=True,
        db_default="",
        db_index=True,
        help_text="Reference of the record whose personal data was purged (a ticket's DSR-2026-000123), if one.",
    )
    actor_username = models.CharField(max_length=150, blank=True)
    database_transaction = models.CharField(
        max_length=40, blank=True, help_text="PostgreSQL transaction id of the purge."
    )

    class Meta:
        verbose_name = "history purge record"
        ordering = ["-ran_at", "-id"]
        default_permissions = ("view",)

    def __str__(self) -> str:
        what = f"{self.reference}: {self.reason}" if self.reference else self.reason
        return f"Purge at {self.ran_at:%Y-%m-%d %H:%M} ({what})"


class TreeNode(models.Model):
    """A perfect subtree of the transparency log's Merkle tree (see `evidence.tlog`).

    Leaf `index` at level 0 is link `index + 1`; the node (level, index) covers
    links `index * 2**level + 1` .. `(index + 1) * 2**level`. Written with each
    link, under the head lock, so the tree always has as many leaves as the
    chain has links; a proof reads O(log n) of these rows.
    """

    level = models.PositiveSmallIntegerField()
    index = models.BigIntegerField()
    hash = models.CharField(max_length=64, help_text="SHA-256 of the subtree, hex.")

    class Meta:
        verbose_name = "tree node"
        default_permissions = ("view",)
        constraints = [models.UniqueConstraint(fields=["level", "index"], name="treenode_level_index")]

    def __str__(self) -> str:
        return f"({self.level}, {self.index})"


class SigningKey(models.Model):
    """Every key that ever signed a checkpoint, with the period it was in use.

    A key is recorded when it first signs (`valid_from`); when another key
    signs for the first time, the keys in use until then get `valid_until`.
    A compromised key gets `revoked_from`: checkpoints it signed from then on
    are not trusted, those before still are.
    """

    key_hash = models.CharField(max_length=8, help_text="The 4-byte key id of the signed-note format, hex.")
    name = models.CharField(max_length=200)
    vkey = models.CharField("verifier key", max_length=300, unique=True)
    valid_from = models.DateTimeField(help_text="Time of the first checkpoint it signed.")
    valid_until = models.DateTimeField(
        null=True, blank=True, help_text="Time of the first checkpoint signed by the key that replaced it."
    )
    revoked_from = models.DateTimeField(
        null=True, blank=True, help_text="Checkpoints it signed from this time on are not trusted."
    )
    revoked_reason = models.CharField(max_length=300, blank=True)

    class Meta:
        verbose_name = "signing key"
        ordering = ["valid_from", "id"]
        default_permissions = ("view",)

    def __str__(self) -> str:
        return f"{self.name}+{self.key_hash}"

    def trusted_at(self, moment: datetime) -> bool:
        """Whether a checkpoint signed at `moment` by this key counts."""
        if moment < self.valid_from or (self.valid_until is not None and moment > self.valid_until):
            return False
        return self.revoked_from is None or moment < self.revoked_from


class Checkpoint(models.Model):
    """A signed checkpoint of the transparency log: a C2SP tlog-checkpoint note."""

    tree_size = models.BigIntegerField(help_text="Number of links (leaves) it covers.")
    root_hash = models.CharField(max_length=64, help_text="Merkle tree root at that size, hex.")
    signed_at = models.DateTimeField(help_text="The signed time (whole seconds, in the note's time line).")
    key = models.ForeignKey(SigningKey, on_delete=models.PROTECT, related_name="checkpoints")
    note = models.TextField(help_text="The signed note exactly as published.")
    reason = models.CharField(max_length=20, choices=CheckpointReason.choices)

    class Meta:
        verbose_name = "checkpoint"
        ordering = ["-tree_size", "-id"]
        default_permissions = ("view",)
        constraints = [
            models.CheckConstraint(
                condition=models.Q(reason__in=CheckpointReason.values), name="checkpoint_reason_known"
            ),
        ]
        indexes = [models.Index(fields=["tree_size", "id"], name="checkpoint_size")]

    def __str__(self) -> str:
        return f"checkpoint {self.tree_size} ({self.signed_at:%Y-%m-%d %H:%M:%S}, {self.reason})"


class PersonalCommitment(models.Model):
    """The salted commitments to the personal fields of one chained row, as
    the row's hash covers them (see `evidence.personal`). Written with the
    link, append-only like it: the verifier needs them after the values and
    salts are gone."""

    model_label = models.CharField(max_length=100)
    row_pk = models.BigIntegerField()
    commitments = models.JSONField(help_text="Field attname to SHA-256(salt || value), hex.")

    class Meta:
        verbose_name = "personal data commitment"
        default_permissions = ("view",)
        constraints = [
            models.UniqueConstraint(fields=["model_label", "row_pk"], name="personalcommitment_row_once"),
        ]

    def __str__(self) -> str:
        return f"{self.model_label}:{self.row_pk}"


class PersonalSalt(models.Model):
    """The salt of one personal field of one chained row. While it exists the
    verifier checks the stored value against its commitment; the retention
    purge deletes it with the value. Not append-only, on purpose, and never
    exported: with the salt, a guess of the value could be confirmed."""

    model_label = models.CharField(max_length=100)
    row_pk = models.BigIntegerField()
    field = models.CharField(max_length=100)
    salt = models.BinaryField(max_length=32)

    class Meta:
        verbose_name = "personal data salt"
        default_permissions = ()
        constraints = [
            models.UniqueConstraint(fields=["model_label", "row_pk", "field"], name="personalsalt_field_once"),
        ]

    def __str__(self) -> str:
        return f"{self.model_label}:{self.row_pk}.{self.field}"
