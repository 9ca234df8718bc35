from django import forms

from .services import REASON_MAX_LENGTH, SUMMARY_MAX_LENGTH


class PublicationRequestForm(forms.Form):
    summary = forms.CharField(
        max_length=SUMMARY_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 70}),
        help_text="What changes for readers, in a sentence or two. Shown in the public changelog.",
    )


class PublicationApproveForm(forms.Form):
    NOW = "now"
    SCHEDULE = "schedule"
    # The fingerprint of the frozen snapshot the approver was shown.
    fingerprint = forms.CharField(
        widget=forms.HiddenInput,
        min_length=64,
        max_length=64,
        error_messages={"required": "Open the request again and review it before approving."},
    )
    when = forms.ChoiceField(
        choices=[(NOW, "Publish now"), (SCHEDULE, "Schedule for a later moment")],
        initial=NOW,
        widget=forms.RadioSelect,
    )
    effective_at = forms.DateTimeField(
        label="Goes live at",
        required=False,
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text="In the site's time zone. What goes live then is the content frozen by the request.",
    )

    def clean(self) -> dict:
        super().clean()
        data = self.cleaned_data
        if data.get("when") == self.SCHEDULE and not data.get("effective_at"):
            self.add_error(
                "effective_at", forms.ValidationError("Give the moment it goes live.", code="effective_at_required")
            )
        if data.get("when") == self.NOW:
            data["effective_at"] = None
        return data


class PublicationRejectForm(forms.Form):
    reason = forms.CharField(
        max_length=REASON_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2, "cols": 70}),
        help_text="Why it is not published; the requester reads it.",
    )


class UpdateApproveForm(forms.Form):
    # The fingerprint of the frozen text the approver was shown.
    fingerprint = forms.CharField(
        widget=forms.HiddenInput,
        min_length=64,
        max_length=64,
        error_messages={"required": "Open the request again and review it before approving."},
    )
