"""Small forms behind the workflow buttons of the ticket admin (input only).

The form of a status move is built from its row in the workflow table
(`move_form`); the other buttons have a form each."""

from functools import cache

from django import forms

from .enums import Move
from .services import MESSAGE_MAX_LENGTH


class WorkflowForm(forms.Form):
    # The status the page showed: a ticket changed by someone else meanwhile is
    # refused rather than overwritten.
    expected_status = forms.CharField(widget=forms.HiddenInput)


def _text(*, label: str = "Reason", required: bool = True, help_text: str, rows: int = 4) -> forms.CharField:
    return forms.CharField(
        label=label,
        widget=forms.Textarea(attrs={"rows": rows}),
        max_length=MESSAGE_MAX_LENGTH,
        required=required,
        help_text=help_text,
    )


@cache
def move_form(move: Move) -> type[WorkflowForm]:
    """The form of a status move: its text as the table describes it, and the file if it takes one."""
    fields: dict[str, forms.Field] = {}
    if move.reason is not None:
        sent = "Mailed to the requester and kept" if move.tells_requester else "Kept"
        fields["reason"] = _text(
            label=move.reason.label,
            required=move.reason.required,
            help_text=("" if move.reason.required else "Optional. ")
            + sent
            + " in the ticket's history"
            + ("." if move.tells_requester else "; not sent to the requester."),
        )
    if move.takes_file:
        fields["attachment"] = forms.FileField(
            required=False,
            help_text="The countersigned document or the response, as a PDF.",
            widget=forms.ClearableFileInput(attrs={"accept": "application/pdf"}),
        )
    return type(f"{move.button.title().replace('_', '')}Form", (WorkflowForm,), fields)


class RecordedReasonForm(WorkflowForm):
    reason = _text(help_text="Kept in the ticket's history; not sent to the requester.")


class VerifyOtherwiseForm(WorkflowForm):
    method = _text(
        label="How identity was verified",
        help_text="For example: called the number on the account and confirmed the request. "
        "Kept in the ticket's history for the auditor; not sent to the requester.",
    )


class AgentCheckForm(WorkflowForm):
    method = _text(
        label="How the agent's authority was checked",
        help_text="For example: signed authorisation received and matched to the account holder; the account "
        "holder confirmed by phone that they asked this person to act. Kept for the auditor; not sent to anyone.",
    )


class MessageForm(WorkflowForm):
    message = _text(label="Message", rows=6, help_text="Mailed to the requester and shown on their status page.")


class ExtendForm(WorkflowForm):
    reason = _text(rows=5, help_text="Why more time is needed; mailed to the requester with the new date.")
    new_due_date = forms.DateField(
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Leave empty for the longest allowed (data-subject requests: three months from receipt).",
    )
