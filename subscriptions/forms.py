"""Public forms of subscriptions (input validation only)."""

from typing import cast

from django import forms

from compliance.enums import UpdateCategory
from core.intake import DETAILS_MAX, EMAIL_MAX, NAME_MAX, IntakeForm, one_line_fields

from .enums import SubscriptionScope


class SubscribeForm(forms.Form):
    email = forms.EmailField(
        label="Your email",
        max_length=EMAIL_MAX,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
        help_text="We send a confirmation link here first; nothing else is sent until you use it.",
    )
    scope = forms.ChoiceField(
        label="Notify me about",
        choices=SubscriptionScope.choices,
        initial=SubscriptionScope.ALL,
        widget=forms.RadioSelect,
    )
    update_categories = forms.MultipleChoiceField(
        label="Updates we post",
        choices=UpdateCategory.choices,
        initial=UpdateCategory.values,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="With “all updates”, we also mail the news we post in the categories you tick.",
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        one_line_fields(self)

    def visible_fields_in_order(self):
        return self.visible_fields()


class ObjectionForm(IntakeForm):
    """An objection to a subprocessor change; the publication comes from the URL."""

    legal_entity = forms.CharField(
        label="Company",
        max_length=NAME_MAX,
        widget=forms.TextInput(attrs={"autocomplete": "organization"}),
        help_text="The customer that objects, as registered.",
    )
    requester_name = forms.CharField(
        label="Your name",
        max_length=NAME_MAX,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    requester_email = forms.EmailField(
        label="Your email",
        max_length=EMAIL_MAX,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
        help_text="We answer your objection here.",
    )
    subprocessor = forms.ChoiceField(label="Subprocessor you object to", widget=forms.RadioSelect)
    details = forms.CharField(
        label="Reasons",
        max_length=DETAILS_MAX,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=f"Why the change is not acceptable to you, e.g. data protection grounds. At most {DETAILS_MAX} characters.",
    )

    field_order = ["legal_entity", "requester_name", "requester_email", "subprocessor", "details"]
    control_fields = (*IntakeForm.control_fields, "subprocessor")

    def __init__(self, *args, choices: list[tuple[str, str]], **kwargs):
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["subprocessor"]).choices = choices
        if len(choices) == 1:
            self.fields["subprocessor"].initial = choices[0][0]
