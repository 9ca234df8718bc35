"""gunicorn settings for the trust center (deploy/systemd/trustcenter-web.service).

    gunicorn --config deploy/gunicorn.conf.py trustcenter.wsgi

Environment: GUNICORN_BIND (default 127.0.0.1:8000, nginx in front),
GUNICORN_WORKERS (default 2 x CPUs + 1), LOG_FORMAT and LOG_LEVEL (as the
application's). gunicorn's own lines go through the application's log
handler: the same format, the request id on each access line, secrets and
mail addresses masked; the access line has no client address and no query
string (docs/operations.md, "Logs").
"""

import multiprocessing
import os

from trustcenter.logcontext import gunicorn_logging_config

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", str(multiprocessing.cpu_count() * 2 + 1)))
worker_class = "sync"
timeout = 30
graceful_timeout = 30
keepalive = 5
# Recycle workers now and then (bounded memory growth), not all at once.
max_requests = 2000
max_requests_jitter = 200
# nginx on this host sets X-Forwarded-Proto; Django reads it (SECURE_PROXY_SSL_HEADER).
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "127.0.0.1,::1")

accesslog = "-"
access_log_format = 'access rid=%({x-request-id}o)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms'
logconfig_dict = gunicorn_logging_config(os.environ.get("LOG_FORMAT", "plain"), os.environ.get("LOG_LEVEL", "INFO"))
