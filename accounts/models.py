"""Records of changes to staff accounts: how they sign in and what they may do.

`StaffSecurityEvent` is insert-only and chained into the evidence ledger, so
an added or removed authenticator, a rename, a group or permission given or
taken, a superuser, staff or active flag switched shows in the audit log and
cannot be quietly erased. Users are kept as ids and the username at the time: the record
outlives the account and never changes when it is renamed or deleted.
"""

from django.conf import settings
from django.db import models

from evidence.registry import ChainSpec


class StaffSecurityEventKind(models.TextChoices):
    AUTHENTICATOR_ADDED = "authenticator_added", "Authenticator added"
    AUTHENTICATOR_REMOVED = "authenticator_removed", "Authenticator removed"
    ACCOUNT_CREATED = "account_created", "Staff account created"
    USERNAME_CHANGED = "username_changed", "Username changed"
    SUPERUSER_GRANTED = "superuser_granted", "Superuser status granted"
    SUPERUSER_REVOKED = "superuser_revoked", "Superuser status removed"
    STAFF_GRANTED = "staff_granted", "Admin access granted"
    STAFF_REVOKED = "staff_revoked", "Admin access removed"
    ACTIVATED = "activated", "Account activated"
    DEACTIVATED = "deactivated", "Account deactivated"
    GROUP_ADDED = "group_added", "Role added"
    GROUP_REMOVED = "group_removed", "Role removed"
    PERMISSION_ADDED = "permission_added", "Permission added"
    PERMISSION_REMOVED = "permission_removed", "Permission removed"


# The kinds about an authenticator; the others are account changes.
AUTHENTICATOR_KINDS = (StaffSecurityEventKind.AUTHENTICATOR_ADDED, StaffSecurityEventKind.AUTHENTICATOR_REMOVED)


class StaffSecurityEvent(models.Model):
    created_at = models.DateTimeField()
    kind = models.CharField(max_length=40, choices=StaffSecurityEventKind.choices)
    # No database constraint and no cascade: deleting a user must not touch the record.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
        help_text="Who made the change.",
    )
    actor_username = models.CharField(max_length=150, help_text="The actor's username at the time.")
    subject_user_id = models.BigIntegerField(help_text="Whose sign-in changed.")
    subject_username = models.CharField(max_length=150, help_text="Their username at the time.")
    device_name = models.CharField(max_length=64, blank=True)
    detail = models.CharField(
        max_length=300,
        blank=True,
        help_text="What changed, for account changes: the old and new username, the role or the permission.",
    )
    sessions_ended = models.PositiveIntegerField(
        default=0, help_text="Other sessions of the user that were signed out by the change."
    )

    chain_spec = ChainSpec(time_field="created_at", user_field="actor", action="staff account changed")

    class Meta:
        verbose_name = "staff security event"
        ordering = ["-created_at", "-id"]
        default_permissions = ("view",)
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind__in=StaffSecurityEventKind.values), name="staffsecurityevent_kind_valid"
            ),
        ]
        indexes = [models.Index(fields=["subject_user_id", "created_at"], name="staffsecevent_subject_time")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} for {self.subject_username}"

    @property
    def summary(self) -> str:
        """What the audit log shows as the reason column."""
        what = (self.device_name or "authenticator") if self.kind in AUTHENTICATOR_KINDS else self.detail
        text = f"{self.get_kind_display()} ({what}) for {self.subject_username}" if what else str(self)
        if self.actor_username and self.actor_username != self.subject_username:
            text += f" by {self.actor_username}"
        if self.sessions_ended:
            text += f"; {self.sessions_ended} other session{'s' if self.sessions_ended != 1 else ''} signed out"
        return text
