"""Public form to ask for a gated document (input validation only)."""

from django import forms

from core.intake import EMAIL_MAX, NAME_MAX, IntakeForm


class AccessRequestForm(IntakeForm):
    requester_name = forms.CharField(
        label="Your name",
        max_length=NAME_MAX,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    requester_email = forms.EmailField(
        label="Work email",
        max_length=EMAIL_MAX,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
        help_text="We send the private download link here. Use your company address.",
    )
    legal_entity = forms.CharField(
        label="Company",
        max_length=NAME_MAX,
        widget=forms.TextInput(attrs={"autocomplete": "organization"}),
    )
    accept_nda = forms.BooleanField(
        label="I accept the non-disclosure agreement above on behalf of my company",
        error_messages={"required": "Please accept the non-disclosure agreement to ask for the document."},
    )
    nda_version = forms.IntegerField(widget=forms.HiddenInput)

    field_order = ["requester_name", "requester_email", "legal_entity", "accept_nda"]
    control_fields = (*IntakeForm.control_fields, "accept_nda", "nda_version")
