"""Public pages under /subscribe/: subscribe, confirm, unsubscribe, object.

Links in mails carry a token; pages reached by one are never cached or
indexed and do not leak it in a Referer. A GET of such a link only shows a
button (mail scanners fetch links); the POST acts. The unsubscribe URL also
takes the one-click POST of RFC 8058 from mail clients, which send no CSRF
token or cookie: the secret link is what authorises it.
"""

from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from compliance.models import Publication
from core.http import SAME_ORIGIN, mark_no_store
from core.intake import intake_submit
from core.ratelimits import count_against, email_key, ip_key
from requests_app.models import Ticket
from requests_app.views import confirm_submission

from . import services
from .enums import SubscriptionScope
from .forms import ObjectionForm, SubscribeForm

IP_GROUP = "subscriptions.subscribe.ip"
EMAIL_GROUP = "subscriptions.subscribe.email"


def _message(request: HttpRequest, heading: str, *paragraphs: str, status: int = 200) -> HttpResponse:
    return mark_no_store(
        render(request, "subscriptions/message.html", {"heading": heading, "paragraphs": paragraphs}, status=status),
        referrer_policy=SAME_ORIGIN,
    )


def _link_invalid(request: HttpRequest) -> HttpResponse:
    return _message(
        request,
        "This link does not work",
        services.LINK_INVALID,
        "You can subscribe again from the trust center at any time.",
        status=404,
    )


def _subscribe_limited(request: HttpRequest, email: str) -> bool:
    # Both counters always count, so one limit cannot be probed under the other.
    limited = count_against(request, group=IP_GROUP, key=ip_key, rate=settings.SUBSCRIBE_RATE_PER_IP)
    limited |= count_against(request, group=EMAIL_GROUP, key=email_key(email), rate=settings.SUBSCRIBE_RATE_PER_EMAIL)
    return limited


@require_http_methods(["GET", "POST"])
def subscribe(request: HttpRequest) -> HttpResponse:
    """Ask for notices. The answer is the same whether or not the address is
    known, subscribed or unsubscribed; only its inbox learns more."""
    status = 200
    if request.method == "POST":
        form = SubscribeForm(request.POST)
        status = 400
        if form.is_valid():
            email = form.cleaned_data["email"].strip().lower()
            if _subscribe_limited(request, email):
                form.add_error(
                    None,
                    ValidationError(
                        "Too many subscription requests from your network or for this address. "
                        "Nothing was sent. Please try again in an hour.",
                        code="rate_limited",
                    ),
                )
                status = 429
            else:
                services.subscriber_request(
                    email=email,
                    scope=form.cleaned_data["scope"],
                    update_categories=form.cleaned_data["update_categories"],
                )
                return redirect("subscriptions:sent")
    else:
        scope = request.GET.get("scope")
        form = SubscribeForm(initial={"scope": scope if scope in SubscriptionScope.values else SubscriptionScope.ALL})
    return render(
        request,
        "subscriptions/subscribe.html",
        {
            "form": form,
            "objection_days": settings.SUBPROCESSOR_OBJECTION_DAYS,
        },
        status=status,
    )


@require_GET
def subscribe_sent(request: HttpRequest) -> HttpResponse:
    return _message(
        request,
        "Check your inbox",
        "If the address can receive mail, a confirmation link is on its way. "
        f"Open it within {services.CONFIRM_VALID_DAYS} days and press “Confirm” to start receiving notices.",
        "Nothing is sent to you before you confirm. Every notice has a link to unsubscribe with one click.",
    )


@require_http_methods(["GET", "POST"])
def confirm(request: HttpRequest, token: str) -> HttpResponse:
    if request.method == "GET":
        pending = (
            services.Subscriber.objects.filter(confirm_token_hash=services.tokens.token_hash(token)).exists()
            if len(token) <= 128
            else False
        )
        if not pending:
            return _link_invalid(request)
        return mark_no_store(render(request, "subscriptions/confirm.html"), referrer_policy=SAME_ORIGIN)
    try:
        subscriber = services.subscriber_confirm(raw_token=token)
    except ValidationError:
        return _link_invalid(request)
    return _message(
        request,
        "You are subscribed",
        f"You will receive: {SubscriptionScope(subscriber.scope).label.lower()}.",
        "Every notice has a link to unsubscribe with one click.",
    )


@csrf_exempt
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows a button; POST (the button, or a mail client's one-click) unsubscribes."""
    if request.method == "GET":
        if services.subscriber_by_unsubscribe_token(token) is None:
            return _link_invalid(request)
        return mark_no_store(render(request, "subscriptions/unsubscribe.html"), referrer_policy=SAME_ORIGIN)
    try:
        services.subscriber_unsubscribe(raw_token=token)
    except ValidationError:
        return _link_invalid(request)
    return _message(
        request,
        "You are unsubscribed",
        "We will not send you further notices.",
        "If this was a mistake, you can subscribe again from the trust center.",
    )


@require_http_methods(["GET", "POST"])
def objection(request: HttpRequest, version: int) -> HttpResponse:
    """Object to the subprocessor changes of one publication, within its window."""
    publication = Publication.objects.filter(version=version).first()
    if publication is None:
        raise Http404("No such version.")
    changes = services.publication_subprocessor_changes(publication)
    if not changes:
        raise Http404("This version changes no subprocessor.")
    closes_at = services.objection_closes_at(publication)
    context: dict[str, Any] = {"publication": publication, "changes": changes, "closes_at": closes_at}
    if timezone.now() > closes_at:
        return render(request, "subscriptions/objection_closed.html", context, status=410)
    choices = list(changes.concerned.items())
    status = 200
    if request.method == "POST":
        form = ObjectionForm(request.POST, choices=choices)
        status = 400
        if form.is_valid():
            outcome = _object(request, publication, form)
            if isinstance(outcome, HttpResponse):
                return outcome
            status = outcome
    else:
        form = ObjectionForm(choices=choices)
    return render(request, "subscriptions/objection.html", {**context, "form": form}, status=status)


def _object(request: HttpRequest, publication: Publication, form: ObjectionForm) -> HttpResponse | int:
    return intake_submit(
        request,
        form,
        existing=lambda token: Ticket.objects.filter(submission_token=token).first(),
        submit=lambda token, ip: services.objection_submit(
            publication=publication,
            subprocessor_slug=form.cleaned_data["subprocessor"],
            data=form.ticket_data(),
            submission_token=token,
            ip=ip,
        ),
        done=lambda ticket: confirm_submission(request, ticket),
        refused=lambda exc: (None, 410 if exc.code == "objection_window_closed" else 400),
    )
