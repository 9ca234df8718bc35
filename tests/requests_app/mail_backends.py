"""Mail backends for tests: an SMTP server that is down, and one that is slow."""

import smtplib
import time

from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.backends.locmem import EmailBackend as LocmemBackend


class SmtpDownBackend(BaseEmailBackend):
    def send_messages(self, email_messages):
        raise smtplib.SMTPRecipientsRefused({m.to[0]: (451, b"try later") for m in email_messages})


class SmtpConnectFailsBackend(BaseEmailBackend):
    def send_messages(self, email_messages):
        raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")


class SlowLocmemBackend(LocmemBackend):
    def send_messages(self, email_messages):
        time.sleep(0.5)
        return super().send_messages(email_messages)
