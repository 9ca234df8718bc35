"""Every write of customers: customer records, their contacts, the incident register.

Each service checks the actor's permission and its input (raising
`PermissionDenied`, or `ValidationError` with a `code`, before anything is
written), stamps history with the actor and the reason, and writes its rows,
the mail it causes (`core.outbox`) and its events in one transaction.
Addresses and names are never logged.
"""

import datetime as dt
import logging
from collections.abc import Iterable
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from compliance.enums import UpdateCategory
from compliance.models import Update
from compliance.services import clean_reason
from core import tokens
from core.history import stamp_history
from core.outbox import link_placeholder, outbox_queue, token_url_template
from core.text import clean_email, single_line

from .enums import AgreementKind, NoticeKind
from .events import IncidentNotified, IncidentRecorded, incident_notified, incident_recorded
from .models import Contact, Customer, CustomerAgreement, Incident, IncidentCustomer, IncidentMessage, IncidentNotice
from .selectors import incident_notice_contacts, live_contract_notice_hours

logger = logging.getLogger(__name__)

CONFIRM = "contact-confirm"
CONFIRM_VALID_DAYS = 7
CONFIRM_PLACEHOLDER = "[[contact_confirm_url]]"
LINK_INVALID = "This link is not valid. It may have been used already or have expired."
TEXT_MAX_LENGTH = 10_000
# Mail templates that carry a contact's address (cleared by the retention purge).
CONTACT_TEMPLATES = ("contact_confirm", "incident_notice", "contact_publication_notice")


def _require(actor: User, perm: str, action: str) -> None:
    if not (actor.is_active and actor.has_perm(perm)):
        raise PermissionDenied(f"You are not allowed to {action}.")


def _line(value: Any, *, field: str, code: str, max_length: int = 200, required: bool = True) -> str:
    text = " ".join(single_line(value).split())
    if required and not text:
        raise ValidationError(f"{field} is required.", code=code)
    if len(text) > max_length:
        raise ValidationError(f"Keep {field.lower()} under {max_length} characters.", code="too_long")
    return text


def _text(value: Any, *, field: str, code: str = "", required: bool = False) -> str:
    text = str(value or "").strip()
    if required and not text:
        raise ValidationError(f"{field} is required.", code=code)
    if len(text) > TEXT_MAX_LENGTH:
        raise ValidationError(f"Keep {field.lower()} under {TEXT_MAX_LENGTH} characters.", code="too_long")
    return text


def name_key(name: str) -> str:
    return " ".join(name.split()).casefold()


# ---------------------------------------------------------------- customers


def customer_create(*, name: str, notes: str = "", actor: User, reason: str) -> Customer:
    """A customer staff add by hand. Refused: "customer_exists" (same name, any case)."""
    _require(actor, "customers.add_customer", "add customers")
    reason = clean_reason(reason)
    name = _line(name, field="Name", code="name_required")
    notes = _text(notes, field="Notes")
    with transaction.atomic():
        if Customer.objects.filter(name_key=name_key(name)).exists():
            raise ValidationError("A customer of this name exists already.", code="customer_exists")
        customer = Customer(name=name, name_key=name_key(name), notes=notes, created_at=timezone.now())
        stamp_history(customer, actor=actor, reason=f"customer added: {reason}")
        customer.save()
    return customer


CUSTOMER_FIELDS = ("name", "notes", "ended_at")


def customer_update(*, customer_id: int, actor: User, reason: str, **changes: Any) -> Customer:
    """Change a customer's name, notes or end of relationship (`ended_at`,
    None to reopen). Refused: "nothing_changed", "customer_exists"."""
    _require(actor, "customers.change_customer", "change customers")
    reason = clean_reason(reason)
    unknown = set(changes) - set(CUSTOMER_FIELDS)
    if unknown:
        raise ValidationError(f"Unknown fields: {', '.join(sorted(unknown))}.", code="field_unknown")
    if "name" in changes:
        changes["name"] = _line(changes["name"], field="Name", code="name_required")
    if "notes" in changes:
        changes["notes"] = _text(changes["notes"], field="Notes")
    if changes.get("ended_at") is not None and changes["ended_at"] > timezone.now():
        raise ValidationError("A relationship cannot end in the future.", code="ended_in_future")
    with transaction.atomic():
        customer = Customer.objects.select_for_update().get(pk=customer_id)
        changed = {k: v for k, v in changes.items() if getattr(customer, k) != v}
        if not changed:
            raise ValidationError("Nothing has changed, so there is nothing to record.", code="nothing_changed")
        if "name" in changed:
            key = name_key(changed["name"])
            if Customer.objects.filter(name_key=key).exclude(pk=customer.pk).exists():
                raise ValidationError("A customer of this name exists already.", code="customer_exists")
            customer.name_key = key
        for field, value in changed.items():
            setattr(customer, field, value)
        stamp_history(customer, actor=actor, reason=reason)
        customer.save()
    return customer


def customer_for_agreement(
    *,
    kind: str,
    ticket_id: int,
    ticket_reference: str,
    legal_entity: str,
    contact_name: str,
    contact_email: str,
    signed_at: dt.datetime,
    actor: User | None,
) -> Customer:
    """Link a fulfilled DPA or BAA ticket to its customer, creating the
    customer (named by the ticket's legal entity, else the address's domain)
    when none has that name. Called in the fulfilment's transaction by
    `requests_app`; idempotent (one agreement per ticket id).

    Side effects: the customer (created, or its DPA/BAA time set), a
    CustomerAgreement, and the requester as a legal contact with a
    confirmation mail, unless the customer already has that address. The
    contact's data then follows the customer's retention, not the ticket's.
    """
    if kind not in AgreementKind.values:
        raise ValidationError("Only DPA and BAA tickets make customers.", code="agreement_kind_invalid")
    existing = CustomerAgreement.objects.filter(ticket_id=ticket_id).select_related("customer").first()
    if existing is not None:
        return existing.customer
    email = clean_email(contact_email, field="Contact email", required=False).lower()
    name = " ".join(single_line(legal_entity).split())[:200] or (email.rpartition("@")[2] if email else "")
    name = name or ticket_reference
    customer = Customer.objects.select_for_update().filter(name_key=name_key(name)).first()
    if customer is None:
        customer = Customer(name=name, name_key=name_key(name), created_at=signed_at)
        stamp_history(customer, actor=actor, reason=f"customer created on fulfilment of {ticket_reference}")
    else:
        stamp_history(customer, actor=actor, reason=f"{kind.upper()} {ticket_reference} fulfilled")
    setattr(customer, f"{kind}_signed_at", signed_at)
    customer.ended_at = None
    customer.save()
    CustomerAgreement.objects.create(
        customer=customer,
        kind=kind,
        ticket_id=ticket_id,
        ticket_reference=ticket_reference,
        signed_at=signed_at,
        linked_by=actor,
    )
    if email and not Contact.objects.filter(customer=customer, email=email, removed_at__isnull=True).exists():
        contact_name = _line(contact_name, field="Name", code="name_required", required=False) or email
        _contact_create(
            customer,
            name=contact_name,
            email=email,
            roles={"legal": True},
            actor=actor,
            reason=f"signatory of {ticket_reference}",
        )
    logger.info("Ticket id=%s linked to customer id=%s", ticket_id, customer.pk)
    return customer


# ---------------------------------------------------------------- contacts

ROLES = ("legal", "security", "privacy")


def _roles(roles: dict[str, bool]) -> dict[str, bool]:
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise ValidationError(f"Unknown roles: {', '.join(sorted(unknown))}.", code="role_unknown")
    cleaned = {role: bool(roles.get(role)) for role in ROLES}
    if not any(cleaned.values()):
        raise ValidationError("Give the contact at least one role: legal, security or privacy.", code="role_required")
    return cleaned


def confirm_url_template() -> str:
    return token_url_template("customers:confirm")


def _send_confirmation(contact: Contact, *, now: dt.datetime) -> None:
    contact.confirm_nonce, contact.confirm_token_hash = tokens.new_token(CONFIRM)
    contact.confirm_sent_at = now
    outbox_queue(
        template="contact_confirm",
        to=contact.email,
        subject="Please confirm your address for our notices",
        context={
            "contact": contact,
            "customer": contact.customer,
            "confirm_url": CONFIRM_PLACEHOLDER,
            "valid_days": CONFIRM_VALID_DAYS,
        },
        links=link_placeholder(
            name="contact_confirm_url",
            purpose=CONFIRM,
            nonce=contact.confirm_nonce,
            token_hash=contact.confirm_token_hash,
            url=confirm_url_template(),
        ),
    )


def _contact_create(
    customer: Customer, *, name: str, email: str, roles: dict[str, bool], actor: User | None, reason: str
) -> Contact:
    now = timezone.now()
    contact = Contact(customer=customer, name=name, email=email, created_at=now, **roles)
    _send_confirmation(contact, now=now)
    stamp_history(contact, actor=actor, reason=f"contact added: {reason}")
    contact.save()
    return contact


def contact_add(
    *, customer_id: int, name: str, email: str, roles: dict[str, bool], actor: User, reason: str
) -> Contact:
    """Add a named contact with their roles and mail them a confirmation link;
    they receive notices once confirmed. Refused: "contact_exists" (the
    address is a contact of this customer already), "role_required",
    "customer_ended"."""
    _require(actor, "customers.add_contact", "add contacts")
    reason = clean_reason(reason)
    name = _line(name, field="Name", code="name_required")
    email = clean_email(email).lower()
    roles = _roles(roles)
    with transaction.atomic():
        customer = Customer.objects.select_for_update().get(pk=customer_id)
        if customer.ended_at is not None:
            raise ValidationError("The relationship with this customer has ended.", code="customer_ended")
        if Contact.objects.filter(customer=customer, email=email, removed_at__isnull=True).exists():
            raise ValidationError("This address is a contact of this customer already.", code="contact_exists")
        contact = _contact_create(customer, name=name, email=email, roles=roles, actor=actor, reason=reason)
    logger.info("Contact id=%s added to customer id=%s", contact.pk, customer.pk)
    return contact


def _lock_contact(contact_id: int) -> Contact:
    contact = Contact.objects.select_for_update().select_related("customer").filter(pk=contact_id).first()
    if contact is None:
        raise ValidationError("No such contact.", code="contact_not_found")
    if contact.removed_at is not None:
        raise ValidationError("This contact was removed.", code="contact_removed")
    return contact


def contact_update(
    *, contact_id: int, name: str, email: str, roles: dict[str, bool], actor: User, reason: str
) -> Contact:
    """Change a contact's name, address or roles. A new address must be
    confirmed again: the contact receives nothing until then."""
    _require(actor, "customers.change_contact", "change contacts")
    reason = clean_reason(reason)
    name = _line(name, field="Name", code="name_required")
    email = clean_email(email).lower()
    roles = _roles(roles)
    with transaction.atomic():
        contact = _lock_contact(contact_id)
        new = {"name": name, "email": email, **roles}
        if all(getattr(contact, k) == v for k, v in new.items()):
            raise ValidationError("Nothing has changed, so there is nothing to record.", code="nothing_changed")
        if (
            email != contact.email
            and Contact.objects.filter(customer_id=contact.customer_id, email=email, removed_at__isnull=True)
            .exclude(pk=contact.pk)
            .exists()
        ):
            raise ValidationError("This address is a contact of this customer already.", code="contact_exists")
        address_changed = email != contact.email
        for field, value in new.items():
            setattr(contact, field, value)
        if address_changed:
            contact.confirmed_at = None
            _send_confirmation(contact, now=timezone.now())
        stamp_history(contact, actor=actor, reason=reason)
        contact.save()
    return contact


def contact_resend_confirmation(*, contact_id: int, actor: User) -> Contact:
    """Mail a new confirmation link (earlier ones stop working). Refused: "contact_confirmed"."""
    _require(actor, "customers.change_contact", "change contacts")
    with transaction.atomic():
        contact = _lock_contact(contact_id)
        if contact.confirmed_at is not None:
            raise ValidationError("This contact has confirmed their address.", code="contact_confirmed")
        _send_confirmation(contact, now=timezone.now())
        stamp_history(contact, actor=actor, reason="confirmation link sent again")
        contact.save()
    return contact


def contact_remove(*, contact_id: int, actor: User, reason: str) -> Contact:
    """The contact receives nothing more; their name and address are erased
    CUSTOMER_CONTACT_RETENTION_DAYS later. A pending link stops working."""
    _require(actor, "customers.change_contact", "change contacts")
    reason = clean_reason(reason)
    with transaction.atomic():
        contact = _lock_contact(contact_id)
        contact.removed_at = timezone.now()
        contact.confirm_nonce, contact.confirm_token_hash = "", None
        stamp_history(contact, actor=actor, reason=f"contact removed: {reason}")
        contact.save()
    return contact


def contact_confirm(*, raw_token: str) -> Contact:
    """Use a confirmation link: the contact receives notices from now on.
    Single use; expires after CONFIRM_VALID_DAYS."""
    now = timezone.now()
    with transaction.atomic():
        contact = tokens.pending_link_lock(
            Contact.objects.filter(removed_at__isnull=True),
            raw_token,
            valid_for=dt.timedelta(days=CONFIRM_VALID_DAYS),
            now=now,
        )
        if contact is None:
            raise ValidationError(LINK_INVALID, code="link_invalid")
        contact.confirmed_at = now
        contact.confirm_nonce, contact.confirm_token_hash = "", None
        stamp_history(contact, actor=None, reason="address confirmed by the contact")
        contact.save()
    logger.info("Contact id=%s confirmed", contact.pk)
    return contact


# ---------------------------------------------------------------- incidents

INCIDENT_TEXT_FIELDS = ("description", "subject_categories", "record_categories", "consequences", "measures")
INCIDENT_COUNT_FIELDS = ("subjects_approx", "records_approx")
INCIDENT_FIELDS = (
    "title",
    "aware_at",
    "company_is_controller",
    *INCIDENT_TEXT_FIELDS,
    *INCIDENT_COUNT_FIELDS,
    "public_update",
)


def _incident_values(values: dict[str, Any], *, now: dt.datetime) -> dict[str, Any]:
    unknown = set(values) - set(INCIDENT_FIELDS)
    if unknown:
        raise ValidationError(f"Unknown fields: {', '.join(sorted(unknown))}.", code="field_unknown")
    cleaned: dict[str, Any] = {}
    if "title" in values:
        cleaned["title"] = _line(values["title"], field="Title", code="title_required")
    if "aware_at" in values:
        aware_at = values["aware_at"]
        if not isinstance(aware_at, dt.datetime) or timezone.is_naive(aware_at):
            raise ValidationError("Say when the company became aware (date and time).", code="aware_at_required")
        if aware_at > now:
            raise ValidationError("The company cannot become aware in the future.", code="aware_in_future")
        cleaned["aware_at"] = aware_at
    for field in INCIDENT_TEXT_FIELDS:
        if field in values:
            required = field == "description"
            label = "What happened" if required else field.replace("_", " ").capitalize()
            cleaned[field] = _text(values[field], field=label, code="description_required", required=required)
    for field in INCIDENT_COUNT_FIELDS:
        if field in values:
            number = values[field]
            if number is not None and (not isinstance(number, int) or isinstance(number, bool) or number < 0):
                raise ValidationError(
                    "Give an approximate number (0 or more), or leave it empty.", code="number_invalid"
                )
            cleaned[field] = number
    if "company_is_controller" in values:
        cleaned["company_is_controller"] = bool(values["company_is_controller"])
    if "public_update" in values:
        update = values["public_update"]
        if update is not None and (not isinstance(update, Update) or update.category != UpdateCategory.INCIDENT):
            raise ValidationError(
                "Link an update of the category incident (editors write it; it is published on approval).",
                code="update_not_incident",
            )
        cleaned["public_update"] = update
    return cleaned


def _customers(customer_ids: Iterable[int]) -> list[Customer]:
    ids = sorted(set(customer_ids))
    customers = list(Customer.objects.filter(pk__in=ids).order_by("pk"))
    if len(customers) != len(ids):
        raise ValidationError("Choose existing customers.", code="customer_unknown")
    return customers


def _next_reference(year: int) -> str:
    prefix = f"INC-{year}-"
    count = Incident.objects.filter(reference__startswith=prefix).count()
    return f"{prefix}{count + 1:04d}"


def incident_record(*, actor: User, reason: str, customer_ids: Iterable[int] = (), **values: Any) -> Incident:
    """Record an incident in the register (GDPR Art. 33(5)).

    `values`: title, aware_at (aware, not in the future), description (what
    happened, required), subject_categories, subjects_approx,
    record_categories, records_approx, consequences, measures,
    company_is_controller. The hours to tell controllers are read from the
    live page now and kept with the incident. Side effects: the incident and
    its history row, the affected customers; after commit, `IncidentRecorded`.
    """
    _require(actor, "customers.add_incident", "record incidents")
    reason = clean_reason(reason)
    now = timezone.now()
    missing = [f for f in ("title", "aware_at", "description") if f not in values]
    if missing:
        values = {**{f: None for f in missing}, **values}
    cleaned = _incident_values(values, now=now)
    hours, source = live_contract_notice_hours(now)
    for attempt in range(3):
        try:
            with transaction.atomic():
                customers = _customers(customer_ids)
                incident = Incident(
                    reference=_next_reference(timezone.localtime(now).year),
                    processor_notice_hours=hours,
                    processor_notice_source=source,
                    recorded_at=now,
                    recorded_by=actor,
                    **cleaned,
                )
                stamp_history(incident, actor=actor, reason=f"incident recorded: {reason}")
                incident.save()
                for customer in customers:
                    IncidentCustomer.objects.create(incident=incident, customer=customer, added_at=now, added_by=actor)
                incident_recorded.send_on_commit(
                    IncidentRecorded(incident_id=incident.pk, reference=incident.reference)
                )
            break
        except IntegrityError:
            if attempt == 2:  # another incident took the reference each time
                raise
    logger.info("Incident %s recorded", incident.reference)
    return incident


def incident_update(
    *, incident_id: int, actor: User, reason: str, add_customer_ids: Iterable[int] = (), **values: Any
) -> Incident:
    """Correct or complete an incident's facts, or mark more customers affected
    (never fewer: a follow-up says a customer turned out not to be).
    Refused: "nothing_changed"."""
    _require(actor, "customers.change_incident", "change incidents")
    reason = clean_reason(reason)
    now = timezone.now()
    cleaned = _incident_values(values, now=now)
    with transaction.atomic():
        incident = Incident.objects.select_for_update().filter(pk=incident_id).first()
        if incident is None:
            raise ValidationError("No such incident.", code="incident_not_found")
        already = set(incident.affected.values_list("customer_id", flat=True))
        new_customers = [c for c in _customers(add_customer_ids) if c.pk not in already]
        changed = {k: v for k, v in cleaned.items() if getattr(incident, k) != v}
        if not changed and not new_customers:
            raise ValidationError("Nothing has changed, so there is nothing to record.", code="nothing_changed")
        for field, value in changed.items():
            setattr(incident, field, value)
        if new_customers:
            reason = f"{reason} (customers marked affected: {', '.join(c.name for c in new_customers)})"
        stamp_history(incident, actor=actor, reason=reason)
        incident.save()
        for customer in new_customers:
            IncidentCustomer.objects.create(incident=incident, customer=customer, added_at=now, added_by=actor)
    return incident


def _notice_subject(incident: Incident, message: IncidentMessage) -> str:
    what = "Security incident notice" if message.kind == NoticeKind.INITIAL else "Security incident update"
    return f"{what} {incident.reference}"


def incident_notices_send(*, incident_id: int, message_id: int) -> int:
    """Write the notices of one round to every contact owed one; returns how many.

    Idempotent and safe to run concurrently: the incident row is locked
    (select_for_update), a contact who has this round's notice is skipped,
    and the unique constraint (round, contact) refuses a second one written
    anyway. Per contact, in one transaction: an IncidentNotice (a follow-up
    linked to the contact's first notice) and its outbox mail."""
    written = 0
    with transaction.atomic():
        incident = Incident.objects.select_for_update().get(pk=incident_id)
        message = IncidentMessage.objects.get(pk=message_id, incident=incident)
        done = set(message.notices.values_list("contact_id", flat=True))
        firsts = dict(
            IncidentNotice.objects.filter(incident=incident, message__round=1).values_list("contact_id", "pk")
        )
        affected = ", ".join(a.customer.name for a in incident.affected.select_related("customer"))
        for contact in incident_notice_contacts(incident).select_related("customer").exclude(pk__in=done):
            try:
                with transaction.atomic():
                    mail = outbox_queue(
                        template="incident_notice",
                        to=contact.email,
                        subject=_notice_subject(incident, message),
                        context={"incident": incident, "message": message, "contact": contact, "affected": affected},
                        about=incident,
                    )
                    IncidentNotice.objects.create(
                        incident=incident,
                        message=message,
                        contact=contact,
                        customer=contact.customer,
                        mail=mail,
                        follow_up_of_id=firsts.get(contact.pk) if message.round > 1 else None,
                        created_at=timezone.now(),
                    )
            except IntegrityError:
                continue  # another sender wrote this notice first
            written += 1
        if written and incident.first_notified_at is None:
            incident.first_notified_at = timezone.now()
            stamp_history(incident, actor=message.created_by, reason="first notices to affected customers written")
            incident.save()
    logger.info("Incident %s round %s: %s notices written", incident.reference, message.round, written)
    return written


def incident_notify(*, incident_id: int, message: str, actor: User, reason: str) -> IncidentMessage:
    """Tell the affected customers' security and privacy contacts (confirmed
    ones) about the incident: the first notice, or a follow-up.

    Refused: "message_required"; "no_recipients" (no affected customer has a
    confirmed security or privacy contact: record it, then tell them another
    way). Side effects: the round's IncidentMessage, one IncidentNotice and
    outbox mail per contact, a history row of the incident with the reason;
    after commit, `IncidentNotified`."""
    _require(actor, "customers.notify_incident", "send incident notices")
    reason = clean_reason(reason)
    body = _text(message, field="The notice", code="message_required", required=True)
    with transaction.atomic():
        incident = Incident.objects.select_for_update().filter(pk=incident_id).first()
        if incident is None:
            raise ValidationError("No such incident.", code="incident_not_found")
        if not incident_notice_contacts(incident).exists():
            raise ValidationError(
                "No affected customer has a confirmed security or privacy contact; nobody would be told.",
                code="no_recipients",
            )
        last = incident.messages.aggregate(last=Max("round"))["last"] or 0
        round_ = last + 1
        kind = NoticeKind.INITIAL if round_ == 1 else NoticeKind.FOLLOW_UP
        notice_text = IncidentMessage.objects.create(
            incident=incident, round=round_, kind=kind, body=body, created_at=timezone.now(), created_by=actor
        )
        stamp_history(incident, actor=actor, reason=f"{NoticeKind(kind).label} (round {round_}): {reason}")
        incident.save()
        count = incident_notices_send(incident_id=incident.pk, message_id=notice_text.pk)
        incident_notified.send_on_commit(
            IncidentNotified(incident_id=incident.pk, reference=incident.reference, notice_count=count)
        )
    return notice_text
