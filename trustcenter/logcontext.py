"""A request id on every log line, and the JSON log format.

`RequestIdMiddleware` (first in MIDDLEWARE) gives each request an id: the
incoming `X-Request-ID` when it is sane (1 to 128 letters, digits and
`._:-`; nginx sends its `$request_id`), else a new random one. It is kept in
a context variable for the whole request, Django's own 4xx/5xx log lines
included (written after the middleware returns; the id is cleared when the
request finishes), and echoed in the response's `X-Request-ID`.

Every log record carries it as `request_id` ("-" outside a request): the
record factory of `trustcenter.logmask.configure` stamps it when the record is
made, and `RequestIdFilter` on each handler fills in records made without the
factory. gunicorn's access log names the id it found in the response header
(its format has `%({x-request-id}o)s`, deploy/gunicorn.conf.py).

`LOG_FORMAT=json` writes one JSON object a line (`JsonFormatter`): time (UTC,
ISO 8601), level, logger, request_id, message, and the traceback as `exc_info`.

This module needs no Django settings, so gunicorn's own log configuration can
use it before the application is loaded.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from django.core.signals import request_finished

if TYPE_CHECKING:  # settings import this module: nothing here may load Django's HTTP machinery
    from django.http import HttpRequest, HttpResponse

HEADER = "X-Request-ID"
NONE = "-"
SANE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")
# gunicorn's access log record carries the response headers as atoms like this one.
GUNICORN_ACCESS_ATOM = "{x-request-id}o"

_request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default=NONE)


def current_request_id() -> str:
    return _request_id.get()


def request_id_from(header: str | None) -> str:
    """The incoming id if sane, else a new one."""
    if header and SANE_ID.fullmatch(header):
        return header
    return uuid.uuid4().hex


class RequestIdMiddleware:
    """Sets the request id for the request's log lines and echoes it in `X-Request-ID`."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = request_id_from(request.headers.get(HEADER))
        _request_id.set(request_id)
        request.request_id = request_id  # type: ignore[attr-defined]
        response = self.get_response(request)
        response[HEADER] = request_id
        return response


def _forget_request_id(**kwargs: Any) -> None:
    _request_id.set(NONE)


request_finished.connect(_forget_request_id, dispatch_uid="trustcenter.logcontext.forget_request_id")


def request_id_of(record: logging.LogRecord) -> str:
    """The id a record belongs to: the current request's, or the one gunicorn's access line names."""
    current = _request_id.get()
    if current == NONE and record.name == "gunicorn.access" and isinstance(record.args, Mapping):
        logged = record.args.get(GUNICORN_ACCESS_ATOM)
        if isinstance(logged, str) and SANE_ID.fullmatch(logged):
            return logged
    return current


def stamp_request_id(record: logging.LogRecord) -> logging.LogRecord:
    if getattr(record, "request_id", NONE) == NONE:
        record.request_id = request_id_of(record)
    return record


class RequestIdFilter(logging.Filter):
    """Gives a record its `request_id` if it has none; never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        stamp_request_id(record)
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object a line."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "request_id": getattr(record, "request_id", NONE),
            "message": record.getMessage(),
        }
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exc_info"] = record.exc_text
        if record.stack_info:
            entry["stack_info"] = record.stack_info
        return json.dumps(entry, ensure_ascii=False)


PLAIN_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"
LOG_FORMATS = ("plain", "json")


def logging_config(log_format: str, level: str) -> dict[str, Any]:
    """The LOGGING dict: one console handler in `log_format`, with ids stamped and secrets masked."""
    if log_format not in LOG_FORMATS:
        raise ValueError(f"LOG_FORMAT must be one of {', '.join(LOG_FORMATS)}, not {log_format!r}.")
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {
            "request_id": {"()": "trustcenter.logcontext.RequestIdFilter"},
            "mask_secrets": {"()": "trustcenter.logmask.MaskSecrets"},
        },
        "formatters": {
            "plain": {"format": PLAIN_FORMAT},
            "json": {"()": "trustcenter.logcontext.JsonFormatter"},
        },
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": log_format,
                "filters": ["request_id", "mask_secrets"],
            }
        },
        "root": {"handlers": ["console"], "level": level},
        # Django's own handlers (a second console line in DEBUG, mail to ADMINS) give way to the one above.
        "loggers": {
            "django": {"handlers": [], "level": level, "propagate": True},
            "django.server": {"handlers": ["console"], "level": "INFO", "propagate": False},
        },
    }


def gunicorn_logging_config(log_format: str, level: str = "INFO") -> dict[str, Any]:
    """gunicorn's `logconfig_dict`: its error and access logs through the same handler and format."""
    config = logging_config(log_format, level)
    config["loggers"] = {
        **config["loggers"],
        "gunicorn.error": {"handlers": ["console"], "level": level, "propagate": False},
        "gunicorn.access": {"handlers": ["console"], "level": "INFO", "propagate": False},
    }
    return config
