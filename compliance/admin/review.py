"""What the two reviewed requests share in the admin (a version of the page,
an update's text): the approve and reject URLs and views. Each admin names
its permission, forms and service calls; the services enforce the
permissions and the four-eyes rule, the views only forward and report."""

from typing import Any, ClassVar

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import path, reverse


def error_text(exc: ValidationError) -> str:
    return " ".join(exc.messages)


class ReviewedRequestAdmin(admin.ModelAdmin):
    """`<pk>/approve/` and `<pk>/reject/` of a request an approver decides."""

    approve_permission: ClassVar[str]
    approve_refusal: ClassVar[str]  # the 403's text for someone without `approve_permission`
    # The reject view's own refusal; None leaves it to the service (which says why in a message).
    reject_refusal: ClassVar[str | None] = None
    approve_form: ClassVar[type[forms.Form]]
    reject_form: ClassVar[type[forms.Form]]

    def approve(self, request: HttpRequest, pk: int, data: dict[str, Any]) -> tuple[str, str]:
        """Approve request `pk` with the form's `data`: (the message, where to go next)."""
        raise NotImplementedError

    def reject(self, request: HttpRequest, pk: int, reason: str) -> None:
        raise NotImplementedError

    def get_urls(self) -> list:
        name = f"{self.opts.app_label}_{self.opts.model_name}"
        return [
            path("<int:pk>/approve/", self.admin_site.admin_view(self.approve_view), name=f"{name}_approve"),
            path("<int:pk>/reject/", self.admin_site.admin_view(self.reject_view), name=f"{name}_reject"),
            *super().get_urls(),
        ]

    def _detail_url(self, pk: int) -> str:
        return reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_change", args=[pk])

    def approve_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        if not request.user.has_perm(self.approve_permission):
            raise PermissionDenied(self.approve_refusal)
        if request.method != "POST":
            return HttpResponseRedirect(self._detail_url(pk))
        form = self.approve_form(request.POST)
        if not form.is_valid():
            errors = [str(e) for errs in form.errors.values() for e in errs]
            self.message_user(request, " ".join(errors), messages.ERROR)
            return HttpResponseRedirect(self._detail_url(pk))
        try:
            done, next_url = self.approve(request, pk, form.cleaned_data)
        except ValidationError as exc:
            self.message_user(request, error_text(exc), messages.ERROR)
            return HttpResponseRedirect(self._detail_url(pk))
        self.message_user(request, done, messages.SUCCESS)
        return HttpResponseRedirect(next_url)

    def reject_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        if self.reject_refusal is not None and not request.user.has_perm(self.approve_permission):
            raise PermissionDenied(self.reject_refusal)
        if request.method == "POST":
            form = self.reject_form(request.POST)
            try:
                if not form.is_valid():
                    raise ValidationError("Give a reason for the rejection.", code="reason_required")
                self.reject(request, pk, form.cleaned_data["reason"])
            except ValidationError as exc:
                self.message_user(request, error_text(exc), messages.ERROR)
            else:
                self.message_user(request, "Request rejected.", messages.SUCCESS)
        return HttpResponseRedirect(self._detail_url(pk))
