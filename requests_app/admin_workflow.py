"""The workflow buttons of the ticket admin.

Status moves come from the workflow table (`enums.STATES`): a ticket offers
the buttons of its state's moves, to a user holding the move's permissions,
each with a form built from the move and one call, `ticket_transition`. The
other buttons change a ticket without moving it (assignment, identity,
messages, deadline, legal hold); each says when it is offered and which
service it calls.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse

from . import services
from .admin_forms import (
    AgentCheckForm,
    ExtendForm,
    MessageForm,
    RecordedReasonForm,
    VerifyOtherwiseForm,
    WorkflowForm,
    move_form,
)
from .enums import CHANGE_TICKET, MOVE_BY_BUTTON, STATES, Move, TicketStatus
from .models import Ticket
from .services.common import expect_status


@dataclass(frozen=True)
class Button:
    name: str
    label: str
    form_class: type[WorkflowForm]
    run: Callable[[Ticket, dict[str, Any], Any], Any]  # (ticket, cleaned data, actor)
    offered: Callable[[Ticket, Any], bool]  # (ticket, user)
    permissions: tuple[str, ...] = (CHANGE_TICKET,)
    help: str = ""


def _move_button(move: Move) -> Button:
    def run(ticket: Ticket, data: dict[str, Any], actor: Any) -> None:
        services.ticket_transition(
            ticket_id=ticket.pk,
            to_status=move.to,
            actor=actor,
            reason=data.get("reason", ""),
            attachment=data.get("attachment"),
            expected_status=data["expected_status"],
        )

    return Button(
        name=move.button,
        label=move.label,
        form_class=move_form(move),
        run=run,
        offered=lambda ticket, user: STATES[ticket.status].move_to(move.to) == move,
        permissions=move.permissions,
        help=move.help,
    )


def _active(ticket: Ticket) -> bool:
    return STATES[ticket.status].active


# Buttons that change a ticket without moving it: shown before the moves...
BEFORE_MOVES = (
    Button(
        "assign_me",
        "Assign to me",
        WorkflowForm,
        run=lambda ticket, data, actor: services.ticket_assign(ticket_id=ticket.pk, assignee=actor, actor=actor),
        offered=lambda ticket, user: ticket.status != TicketStatus.CLOSED and ticket.assignee_id != user.pk,
    ),
    Button(
        "resend_verification",
        "Resend verification link",
        WorkflowForm,
        run=lambda ticket, data, actor: services.ticket_resend_verification(ticket_id=ticket.pk, actor=actor),
        offered=lambda ticket, user: ticket.identity_pending,
        help="Sends a new single-use link to the account's address; earlier links stop working.",
    ),
    Button(
        "verify_otherwise",
        "Record identity verified another way",
        VerifyOtherwiseForm,
        run=lambda ticket, data, actor: services.ticket_verify_otherwise(
            ticket_id=ticket.pk, method=data["method"], actor=actor, expected_status=data["expected_status"]
        ),
        offered=lambda ticket, user: ticket.identity_pending,
        help="When you confirmed the requester's identity by other means, say how: it counts as verification "
        "(erasure, access and portability can then be fulfilled) and the auditor sees it. Unused links stop "
        "working; a ticket awaiting verification opens.",
    ),
    Button(
        "agent_check",
        "Record the agent's authority as checked",
        AgentCheckForm,
        run=lambda ticket, data, actor: services.ticket_agent_check(
            ticket_id=ticket.pk, method=data["method"], actor=actor, expected_status=data["expected_status"]
        ),
        offered=lambda ticket, user: ticket.agent_review_pending,
        help="This request was filed by someone acting for the person concerned. Check what authorises them "
        "and say how you did; it cannot be fulfilled before. If their authority does not hold, reject the request.",
    ),
)
# ... and after them.
AFTER_MOVES = (
    Button(
        "message",
        "Message requester",
        MessageForm,
        run=lambda ticket, data, actor: services.ticket_add_message(
            ticket_id=ticket.pk, message=data["message"], actor=actor
        ),
        offered=lambda ticket, user: _active(ticket),
    ),
    Button(
        "extend",
        "Extend deadline",
        ExtendForm,
        run=lambda ticket, data, actor: services.ticket_extend(
            ticket_id=ticket.pk, reason=data["reason"], actor=actor, new_due_date=data.get("new_due_date")
        ),
        offered=lambda ticket, user: _active(ticket) and ticket.extended_at is None,
        help="Once, before the original deadline, with a reason; the requester is mailed a notice.",
    ),
    Button(
        "hold",
        "Place legal hold",
        RecordedReasonForm,
        run=lambda ticket, data, actor: services.ticket_set_legal_hold(
            ticket_id=ticket.pk, legal_hold=True, reason=data["reason"], actor=actor
        ),
        offered=lambda ticket, user: not ticket.legal_hold and ticket.personal_data_purged_at is None,
        help="Keeps the requester's data past the retention period, e.g. for a legal claim.",
    ),
    Button(
        "release_hold",
        "Release legal hold",
        RecordedReasonForm,
        run=lambda ticket, data, actor: services.ticket_set_legal_hold(
            ticket_id=ticket.pk, legal_hold=False, reason=data["reason"], actor=actor
        ),
        offered=lambda ticket, user: ticket.legal_hold,
    ),
)
MOVE_BUTTONS: dict[str, Button] = {name: _move_button(move) for name, move in MOVE_BY_BUTTON.items()}
BUTTONS: dict[str, Button] = {button.name: button for button in (*BEFORE_MOVES, *MOVE_BUTTONS.values(), *AFTER_MOVES)}


def _allowed(user: Any, button: Button) -> bool:
    return all(user.has_perm(permission) for permission in button.permissions)


def buttons_offered(ticket: Ticket, user: Any) -> list[Button]:
    """The buttons a ticket's change page shows this user: the moves in the table's order."""
    moves = [MOVE_BUTTONS[move.button] for move in STATES[ticket.status].moves if move.button]
    return [
        button
        for button in (*BEFORE_MOVES, *moves, *AFTER_MOVES)
        if button.offered(ticket, user) and _allowed(user, button)
    ]


class WorkflowAdminMixin:
    """The ticket admin's workflow: buttons on the change page, one form page per button."""

    admin_site: Any
    model: type[Ticket]

    def workflow_urls(self) -> list[Any]:
        return [
            path(
                "<int:object_id>/workflow/<str:action>/",
                self.admin_site.admin_view(self.workflow_view),
                name="requests_app_ticket_workflow",
            )
        ]

    def workflow_buttons(self, request: HttpRequest, ticket: Ticket) -> list[tuple[str, str]]:
        return [
            (reverse("admin:requests_app_ticket_workflow", args=[ticket.pk, button.name]), button.label)
            for button in buttons_offered(ticket, request.user)
        ]

    def workflow_view(self, request: HttpRequest, object_id: int, action: str) -> HttpResponse:
        ticket = get_object_or_404(Ticket, pk=object_id)
        button = BUTTONS.get(action)
        if button is None:
            raise Http404("No such action.")
        if not _allowed(request.user, button):
            raise PermissionDenied
        change_url = reverse("admin:requests_app_ticket_change", args=[ticket.pk])
        if request.method == "POST":
            form = button.form_class(request.POST, request.FILES)
            if form.is_valid():
                try:
                    # Services that move the ticket check this again under the row lock.
                    expect_status(ticket, form.cleaned_data["expected_status"])
                    button.run(ticket, form.cleaned_data, request.user)
                except ValidationError as exc:
                    for message in exc.messages:
                        form.add_error(None, message)
                else:
                    messages.success(request, f"{ticket.reference}: {button.label} done.")
                    return HttpResponseRedirect(change_url)
        else:
            form = button.form_class(initial={"expected_status": ticket.status})
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": ticket,
            "ticket": ticket,
            "form": form,
            "action": button,
            "change_url": change_url,
            "title": f"{button.label}: {ticket.reference}",
            "has_file_field": any(isinstance(f, forms.FileField) for f in form.fields.values()),
        }
        return TemplateResponse(
            request, "admin/requests_app/ticket/workflow.html", context, status=400 if request.method == "POST" else 200
        )
