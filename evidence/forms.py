from datetime import date
from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError

from .export import FORMATS
from .registry import chained_models
from .selectors import AuditFilters, validate_audit_date


def _model_choices() -> list[tuple[str, str]]:
    choices = []
    for label, chained in chained_models().items():
        meta = (chained.content_model or chained.model)._meta
        choices.append((label, str(meta.verbose_name).capitalize()))
    return [("", "All"), *sorted(choices, key=lambda c: c[1])]


class AuditFilterForm(forms.Form):
    date_from = forms.DateField(
        label="From (UTC)",
        required=False,
        validators=[validate_audit_date],
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    date_to = forms.DateField(
        label="To (UTC)",
        required=False,
        validators=[validate_audit_date],
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    user = forms.CharField(label="User", required=False, max_length=150, help_text="Username")
    model = forms.ChoiceField(label="Kind", required=False, choices=_model_choices)

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            raise ValidationError("The start date is after the end date.", code="date_order")
        return data

    def filters(self) -> AuditFilters:
        """The filters; call after is_valid()."""
        data = self.cleaned_data
        user_id, nothing = None, False
        if data.get("user"):
            user_id = (
                get_user_model()._default_manager.filter(username=data["user"]).values_list("pk", flat=True).first()
            )
            nothing = user_id is None
        return AuditFilters(
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
            user_id=user_id,
            model_label=data.get("model") or None,
            match_nothing=nothing,
        )


class ExportForm(forms.Form):
    date_from = forms.DateField(
        label="From (UTC)", validators=[validate_audit_date], widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label="To (UTC)", validators=[validate_audit_date], widget=forms.DateInput(attrs={"type": "date"})
    )
    format = forms.ChoiceField(choices=[(f, f.upper() if f == "csv" else "JSON Lines") for f in FORMATS])
    manifest = forms.BooleanField(required=False, label="Download the manifest instead of the file")

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        start: date | None = data.get("date_from")
        end: date | None = data.get("date_to")
        if start and end and start > end:
            raise ValidationError("The start date is after the end date.", code="date_order")
        return data


class BundleForm(forms.Form):
    """A date range for an evidence bundle; both dates empty: everything signed."""

    date_from = forms.DateField(
        label="From (UTC)",
        required=False,
        validators=[validate_audit_date],
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    date_to = forms.DateField(
        label="To (UTC)",
        required=False,
        validators=[validate_audit_date],
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        start: date | None = data.get("date_from")
        end: date | None = data.get("date_to")
        if bool(start) != bool(end):
            raise ValidationError("Give both dates, or neither for everything.", code="date_pair")
        if start and end and start > end:
            raise ValidationError("The start date is after the end date.", code="date_order")
        return data
