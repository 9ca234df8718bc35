from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from .snapshot import build_snapshot


def trust_page(request: HttpRequest) -> HttpResponse:
    """The public Security & Compliance page."""
    return render(request, "compliance/page.html", {"snapshot": build_snapshot()})
