"""Public intake forms: one per kind of request, each asking only what that kind needs.

Forms validate input only; `views.py` hands `cleaned_data` to `ticket_submit()`.
Every field has a maximum length so that no single submission can store more
than a few kilobytes (see also `REQUEST_FORM_MAX_BODY`).
"""

from dataclasses import dataclass
from typing import Any

from django import forms

from core.intake import DETAILS_MAX, EMAIL_MAX, NAME_MAX, IntakeForm, TokenForm


@dataclass(frozen=True)
class DataRight:
    """A GDPR data-subject right as offered on the public form."""

    slug: str  # URL segment, /requests/new/data-subject/<slug>/
    kind: str  # TicketKind value
    title: str
    article: str
    summary: str
    details_label: str
    details_help: str
    details_required: bool


DATA_RIGHTS: tuple[DataRight, ...] = (
    DataRight(
        "erasure",
        "dsr_erasure",
        "Erase my data (delete my account)",
        "Art. 17",
        "Ask us to delete your account and the personal data we hold about you.",
        "Anything we should know",
        "For example, whether other accounts are concerned.",
        False,
    ),
    DataRight(
        "access",
        "dsr_access",
        "Get a copy of my data",
        "Art. 15",
        "Ask which personal data we hold about you and receive a copy.",
        "Anything we should know",
        "For example, a period or kind of data you are interested in.",
        False,
    ),
    DataRight(
        "rectification",
        "dsr_rectification",
        "Correct my data",
        "Art. 16",
        "Ask us to correct personal data about you that is wrong or incomplete.",
        "What is wrong, and what should it say",
        "Tell us which data is wrong and the correct value.",
        True,
    ),
    DataRight(
        "portability",
        "dsr_portability",
        "Take my data elsewhere",
        "Art. 20",
        "Receive the data you gave us in a machine-readable format (JSON and CSV).",
        "Anything we should know",
        "For example, the service the data should be ready for.",
        False,
    ),
    DataRight(
        "restriction",
        "dsr_restriction",
        "Restrict how my data is used",
        "Art. 18",
        "Ask us to keep your data but stop using it while a question about it is settled.",
        "Why processing should be restricted",
        "For example: you contest the accuracy of the data, or you have objected and await our answer.",
        True,
    ),
    DataRight(
        "objection",
        "dsr_objection",
        "Object to how my data is used",
        "Art. 21",
        "Object to processing based on our legitimate interest or to direct marketing.",
        "Which processing you object to, and why",
        "Tell us which use of your data you object to and the grounds relating to your situation.",
        True,
    ),
)
DATA_RIGHTS_BY_SLUG = {right.slug: right for right in DATA_RIGHTS}


def _email(label: str, *, required: bool = True, help_text: str = "") -> forms.EmailField:
    return forms.EmailField(
        label=label,
        required=required,
        max_length=EMAIL_MAX,
        help_text=help_text,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )


def _text(label: str, *, autocomplete: str, help_text: str = "") -> forms.CharField:
    return forms.CharField(
        label=label,
        max_length=NAME_MAX,
        help_text=help_text,
        widget=forms.TextInput(attrs={"autocomplete": autocomplete}),
    )


def _details(label: str, *, required: bool, help_text: str) -> forms.CharField:
    return forms.CharField(
        label=label,
        required=required,
        max_length=DETAILS_MAX,
        help_text=f"{help_text} At most {DETAILS_MAX} characters.".strip(),
        widget=forms.Textarea(attrs={"rows": 6}),
    )


class DpaRequestForm(IntakeForm):
    """Countersignature of the Data Processing Agreement."""

    legal_entity = _text(
        "Legal entity name",
        autocomplete="organization",
        help_text="The company that signs the DPA, as registered, e.g. “Example GmbH”.",
    )
    account_email = _email("Account email", help_text="The email address of your account with us.")
    requester_name = _text("Your name", autocomplete="name")
    requester_email = _email("Your email", help_text="We send the countersigned copy here.")
    notes = _details("Notes", required=False, help_text="Anything we should know, e.g. who should receive the copy.")

    field_order = ["legal_entity", "account_email", "requester_name", "requester_email", "notes"]

    def ticket_data(self) -> dict[str, str]:
        data = super().ticket_data()
        data["details"] = data.pop("notes")  # the ticket's free-text field
        return data


class BaaRequestForm(IntakeForm):
    """A HIPAA Business Associate Agreement."""

    ENTITY_STATUS_CHOICES = [
        ("covered_entity", "Covered entity (for example a health plan or provider)"),
        ("business_associate", "Business associate of a covered entity"),
    ]

    legal_entity = _text("Legal entity name", autocomplete="organization")
    account_email = _email("Account email", help_text="The email address of your account with us.")
    requester_name = _text("Contact name", autocomplete="name")
    requester_email = _email("Contact email", help_text="We send the signed BAA here.")
    entity_status = forms.ChoiceField(
        label="Your organisation is a",
        choices=ENTITY_STATUS_CHOICES,
        widget=forms.RadioSelect,
        error_messages={"required": "Please choose whether you are a covered entity or a business associate."},
    )

    field_order = ["legal_entity", "account_email", "requester_name", "requester_email", "entity_status"]


FOR_MYSELF = "self"
FOR_ANOTHER = "other"
AGENT_AUTHORITY_MAX = 2000


class DataSubjectRequestForm(IntakeForm):
    """A request under the GDPR; the right comes from the URL, not from the form.

    Someone may ask for another person (an authorised agent, a parent or
    guardian, a legal representative): then the account address of the person
    concerned is required, they confirm the request there and every answer
    goes only there, and a handler checks what authorises the agent before the
    request can be fulfilled (`ticket_agent_check`)."""

    acting_for = forms.ChoiceField(
        label="Who is this request for?",
        choices=[
            (FOR_MYSELF, "Me"),
            (FOR_ANOTHER, "Someone else, who authorised me (as their agent, parent, guardian or legal representative)"),
        ],
        initial=FOR_MYSELF,
        required=False,
        widget=forms.RadioSelect,
    )
    requester_email = _email("Your email", help_text="We write to you at this address.")
    account_email = _email(
        "Account email, if different",
        required=False,
        help_text="If your account uses another address, enter it: we confirm the request there, "
        "and send everything about it only there.",
    )
    agent_authority = forms.CharField(
        label="If for someone else: who you are to them, and what authorises you",
        required=False,
        max_length=AGENT_AUTHORITY_MAX,
        help_text="For example: their signed authorisation, a power of attorney, or that you are the parent of a "
        "child. We check it before we act, and the person concerned confirms the request from their own account "
        f"address; our answer goes only to them. At most {AGENT_AUTHORITY_MAX} characters.",
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    details = forms.CharField(required=False)  # replaced per right in __init__

    field_order = ["acting_for", "requester_email", "account_email", "agent_authority", "details"]
    control_fields = (*IntakeForm.control_fields, "acting_for")

    def __init__(self, *args, right: DataRight, **kwargs):
        super().__init__(*args, **kwargs)
        self.right = right
        self.fields["details"] = _details(
            right.details_label, required=right.details_required, help_text=right.details_help
        )

    def acts_for_another(self) -> bool:
        return self.cleaned_data.get("acting_for") == FOR_ANOTHER

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if self.acts_for_another():
            account = (cleaned.get("account_email") or "").strip().lower()
            if not account and "account_email" not in self.errors:
                self.add_error(
                    "account_email",
                    "Enter the email address of the account of the person you act for: we confirm the request "
                    "with them there, and answer only there.",
                )
            elif account and account == (cleaned.get("requester_email") or "").strip().lower():
                self.add_error(
                    "account_email",
                    "This is your own address. Enter the address of the account of the person you act for.",
                )
            if not (cleaned.get("agent_authority") or "").strip() and "agent_authority" not in self.errors:
                self.add_error("agent_authority", "Tell us who you are to them and what authorises you.")
        return cleaned

    def ticket_data(self) -> dict[str, Any]:
        data: dict[str, Any] = super().ticket_data()
        if self.acts_for_another():
            data["acting_for_another"] = True
        else:
            data.pop("agent_authority", None)
            if data.get("account_email") == data["requester_email"]:
                data["account_email"] = ""
        return data


def form_for_kind(kind: str) -> type[IntakeForm]:
    if kind == "dpa":
        return DpaRequestForm
    if kind == "baa":
        return BaaRequestForm
    return DataSubjectRequestForm


class RequesterReplyForm(TokenForm):
    """The requester answers staff from the status page."""

    message = forms.CharField(
        label="Your reply",
        max_length=DETAILS_MAX,
        help_text=f"We read it with your request and answer by email. At most {DETAILS_MAX} characters.",
        widget=forms.Textarea(attrs={"rows": 6}),
    )
