"""Public intake: the form base every public submission uses, and one submit helper.

A public form (a DPA request, a data-subject request, a document access
request, an objection) carries a random submission token per render and a
honeypot field. `intake_submit` runs the part every such flow shares: a POST
retried with the same token (double click, reload) gets the first result again
without counting against the rate limits; otherwise the rate limits apply, the
app's service is called, and a refusal lands on the form, input kept.
"""

import secrets
from collections.abc import Callable
from typing import TypeVar

from django import forms
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, QueryDict

from .ratelimits import client_ip, submission_is_limited
from .text import EMAIL_MAX_LENGTH, validate_single_line

# Upper bounds shared by the forms and their tests.
NAME_MAX = 200
EMAIL_MAX = EMAIL_MAX_LENGTH  # RFC 5321 path limit
DETAILS_MAX = 5000
SUBMISSION_TOKEN_BYTES = 32

# The honeypot: a field people never see (hidden by CSS, skipped by keyboard and
# screen readers) and naive bots fill. Its name looks like a field bots like.
HONEYPOT_FIELD = "website"

TOO_MANY = (
    "Too many requests: we have received several from your network or for this email address "
    "in a short time. Nothing was submitted. Please try again in an hour, or write to us by email."
)

T = TypeVar("T")


def one_line_fields(form: forms.Form) -> None:
    """Every one-line input of `form` refuses line breaks and control characters."""
    for field in form.fields.values():
        if isinstance(field.widget, forms.TextInput | forms.EmailInput) and not field.widget.is_hidden:
            field.validators.append(validate_single_line)


def new_submission_token() -> str:
    """A fresh random token for one render of a form."""
    return secrets.token_urlsafe(SUBMISSION_TOKEN_BYTES)


class TokenForm(forms.Form):
    """A form carrying a random token per render, so a retried POST is recognised."""

    submission_token = forms.CharField(
        widget=forms.HiddenInput,
        min_length=20,
        max_length=64,
        error_messages={
            "required": "This form has expired. Please submit it again.",
            "min_length": "This form has expired. Please submit it again.",
            "max_length": "This form has expired. Please submit it again.",
        },
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        one_line_fields(self)
        if not self.is_bound:
            self.initial["submission_token"] = new_submission_token()

    def full_clean(self) -> None:
        super().full_clean()
        if self.is_bound and "submission_token" in self.errors:
            # Re-rendered with a fresh token, so that sending it again can work.
            data = QueryDict(mutable=True)
            data.update(self.data)
            data["submission_token"] = new_submission_token()
            self.data = data

    def visible_fields_in_order(self):
        return [f for f in self if not f.is_hidden and f.name != HONEYPOT_FIELD]


class IntakeForm(TokenForm):
    """Shared by every intake form: the submission token and the honeypot."""

    website = forms.CharField(
        required=False,
        max_length=200,
        label="Leave this field empty",
        widget=forms.TextInput(attrs={"autocomplete": "off", "tabindex": "-1"}),
    )

    #: Field names that `ticket_submit` never sees.
    control_fields: tuple[str, ...] = ("submission_token", HONEYPOT_FIELD)

    @property
    def honeypot_filled(self) -> bool:
        return bool(self.is_bound and self.data.get(HONEYPOT_FIELD, "").strip())

    def clean_website(self) -> str:
        # Refuse openly rather than pretend success: a person whose browser
        # filled the field by mistake must not believe a legal request was filed.
        if self.cleaned_data.get(HONEYPOT_FIELD, "").strip():
            raise ValidationError(
                "Please leave this field empty; it helps us tell people from automated spam.",
                code="honeypot",
            )
        return ""

    def ticket_data(self) -> dict[str, str]:
        """What the ticket stores: the visible fields, emails lower-cased."""
        data = {}
        for name, value in self.cleaned_data.items():
            if name in self.control_fields:
                continue
            data[name] = value.strip().lower() if name.endswith("email") else value.strip()
        return data

    def emails(self) -> list[str]:
        """Distinct addresses this submission would send mail to (rate-limit keys)."""
        found = []
        for name, value in self.ticket_data().items():
            if name.endswith("email") and value and value not in found:
                found.append(value)
        return found


def intake_submit(
    request: HttpRequest,
    form: IntakeForm,
    *,
    existing: Callable[[str], T | None],
    submit: Callable[[str, str | None], T],
    done: Callable[[T], HttpResponse],
    refused: Callable[[ValidationError], tuple[str | None, int]] = lambda exc: (None, 400),
) -> HttpResponse | int:
    """Submit a valid public form once.

    `existing(token)` finds what an earlier POST with this token made;
    `submit(token, client_ip)` calls the app's service; `done(result)` answers
    (a redirect to the confirmation). A refusal from the service is added to
    the form at the field `refused(exc)` names (None: the whole form) and its
    status code is returned, for the view to re-render the form with; so is
    429 when a rate limit is hit.
    """
    token = form.cleaned_data["submission_token"]
    earlier = existing(token)
    if earlier is not None:
        return done(earlier)
    if submission_is_limited(request, emails=form.emails()):
        form.add_error(None, ValidationError(TOO_MANY, code="rate_limited"))
        return 429
    try:
        result = submit(token, client_ip(request) or None)
    except ValidationError as exc:
        # The form checks what the service checks; this explains rather than fails.
        field, status = refused(exc)
        form.add_error(field, exc)
        return status
    return done(result)
