import tempfile
from pathlib import Path

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.http.response import HttpResponseBase
from django.template.response import TemplateResponse
from django.urls import URLPattern, path

from core.admin_readonly import ReadOnlyAdmin
from core.http import mark_no_store

from .bundle import BundleError, bundle_name, bundle_tar, bundle_write
from .export import export_filename, write_export
from .forms import AuditFilterForm, BundleForm, ExportForm
from .models import AuditLog, PurgeRecord
from .selectors import audit_log_page, chain_head

EXPORT_PERMISSION = "evidence.export_auditlog"


@admin.register(AuditLog)
class AuditLogAdmin(ReadOnlyAdmin):
    """Every change to page content and every publication, newest first."""

    def get_urls(self) -> list[URLPattern]:
        info = self.opts.app_label, self.opts.model_name
        changelist = "{}_{}_changelist".format(*info)
        # The log replaces the changelist; the standard object pages stay
        # (read-only: every add, change and delete is refused above).
        return [
            path("", self.admin_site.admin_view(self.log_view), name=changelist),
            path("export/", self.admin_site.admin_view(self.export_view), name="{}_{}_export".format(*info)),
            path("bundle/", self.admin_site.admin_view(self.bundle_view), name="{}_{}_bundle".format(*info)),
        ] + [url for url in super().get_urls() if getattr(url, "name", None) != changelist]

    def log_view(self, request: HttpRequest) -> HttpResponse:
        if request.method not in ("GET", "HEAD"):
            return HttpResponseNotAllowed(["GET", "HEAD"])
        if not self.has_view_permission(request):
            raise PermissionDenied
        form = AuditFilterForm(request.GET)
        page = None
        if form.is_valid():
            page = audit_log_page(
                filters=form.filters(),
                before=_cursor(request.GET.get("before")),
                after=_cursor(request.GET.get("after")),
            )
        query = request.GET.copy()
        query.pop("before", None)
        query.pop("after", None)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Audit log",
            "form": form,
            "page": page,
            "filter_query": query.urlencode(),
            "head": chain_head(),
            "can_export": request.user.has_perm(EXPORT_PERMISSION),
            "export_form": ExportForm(initial={"format": "csv"}),
            "bundle_form": BundleForm(),
        }
        return TemplateResponse(request, "admin/evidence/audit_log.html", context)

    def export_view(self, request: HttpRequest) -> HttpResponseBase:
        if request.method not in ("GET", "HEAD"):
            return HttpResponseNotAllowed(["GET", "HEAD"])
        if not request.user.has_perm(EXPORT_PERMISSION):
            raise PermissionDenied
        form = ExportForm(request.GET)
        if not form.is_valid():
            return TemplateResponse(
                request,
                "admin/evidence/audit_log_export.html",
                {
                    **self.admin_site.each_context(request),
                    "opts": self.opts,
                    "title": "Export the audit log",
                    "export_form": form,
                },
                status=400 if request.GET else 200,
            )
        data = form.cleaned_data
        # The file goes to an anonymous temporary file first: the manifest needs
        # its hash, and a long range should not be held in memory.
        out = tempfile.TemporaryFile()
        manifest = write_export(out, date_from=data["date_from"], date_to=data["date_to"], fmt=data["format"])
        filename = export_filename(data["date_from"], data["date_to"], data["format"])
        if data["manifest"]:
            out.close()
            response: HttpResponseBase = HttpResponse(manifest.to_json(), content_type="application/json")
            response["Content-Disposition"] = f'attachment; filename="{filename}.manifest.json"'
        else:
            out.seek(0)
            content_type = "text/csv; charset=utf-8" if data["format"] == "csv" else "application/jsonl; charset=utf-8"
            response = FileResponse(out, as_attachment=True, filename=filename, content_type=content_type)
            response["X-Export-SHA256"] = manifest.sha256
            response["X-Export-Rows"] = str(manifest.row_count)
        return mark_no_store(response)

    def bundle_view(self, request: HttpRequest) -> HttpResponseBase:
        """The evidence bundle of a date range (or everything signed) as one tar, for
        scripts/verify_evidence.py; the same bytes as `export_evidence_bundle --tar`."""
        if request.method not in ("GET", "HEAD"):
            return HttpResponseNotAllowed(["GET", "HEAD"])
        if not request.user.has_perm(EXPORT_PERMISSION):
            raise PermissionDenied
        form = BundleForm(request.GET)
        if not form.is_valid():
            message = " ".join(str(error) for error in form.non_field_errors()) or "Enter valid dates."
            return HttpResponse(message, status=400, content_type="text/plain; charset=utf-8")
        date_from, date_to = form.cleaned_data["date_from"], form.cleaned_data["date_to"]
        name = bundle_name(date_from, date_to)
        out = tempfile.TemporaryFile()
        with tempfile.TemporaryDirectory() as folder:
            try:
                bundle_write(Path(folder), date_from=date_from, date_to=date_to)
            except BundleError as exc:
                out.close()
                return mark_no_store(HttpResponse(str(exc), status=409, content_type="text/plain; charset=utf-8"))
            bundle_tar(Path(folder), out, prefix=name)
        out.seek(0)
        response = FileResponse(out, as_attachment=True, filename=f"{name}.tar", content_type="application/x-tar")
        return mark_no_store(response)


def _cursor(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


@admin.register(PurgeRecord)
class PurgeRecordAdmin(ReadOnlyAdmin):
    list_display = ["ran_at", "reference", "reason", "actor_username", "database_transaction"]
    search_fields = ["reference"]
    date_hierarchy = "ran_at"
