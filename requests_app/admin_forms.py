"""Small forms behind the workflow buttons of the ticket admin (input only)."""

from django import forms

from .services import MESSAGE_MAX_LENGTH


class WorkflowForm(forms.Form):
    # The status the page showed: a ticket changed by someone else meanwhile is
    # refused rather than overwritten.
    expected_status = forms.CharField(widget=forms.HiddenInput)


class ReasonForm(WorkflowForm):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 5}),
        max_length=MESSAGE_MAX_LENGTH,
        help_text="Sent to the requester and kept in the ticket's history.",
    )


class OptionalReasonForm(WorkflowForm):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=MESSAGE_MAX_LENGTH,
        required=False,
        help_text="Optional; sent to the requester.",
    )


class InternalReasonForm(WorkflowForm):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=MESSAGE_MAX_LENGTH,
        required=False,
        help_text="Optional; kept in the ticket's history, not sent.",
    )


class RecordedReasonForm(WorkflowForm):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=MESSAGE_MAX_LENGTH,
        help_text="Kept in the ticket's history; not sent to the requester.",
    )


class MessageForm(WorkflowForm):
    message = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 6}),
        max_length=MESSAGE_MAX_LENGTH,
        help_text="Mailed to the requester and shown on their status page.",
    )


class FulfilForm(OptionalReasonForm):
    attachment = forms.FileField(
        required=False,
        help_text="The countersigned document or the response, as a PDF.",
        widget=forms.ClearableFileInput(attrs={"accept": "application/pdf"}),
    )


class ExtendForm(WorkflowForm):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 5}),
        max_length=MESSAGE_MAX_LENGTH,
        help_text="Why more time is needed; mailed to the requester with the new date.",
    )
    new_due_date = forms.DateField(
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Leave empty for the longest allowed (data-subject requests: three months from receipt).",
    )
