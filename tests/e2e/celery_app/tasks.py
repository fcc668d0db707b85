"""A tiny Celery app for vitals' tests: the broker comes from CELERY_BROKER_URL.

With VITALS_PING_URL set (http://127.0.0.1:<port>/ping), every task's success and failure
pings vitals through its healthchecks.io-compatible API, with the signal handler docs/checks/heartbeat.md
shows. With CELERY_TASK_EVENTS=1 the worker sends task events (as with -E). With CELERY_BROKER_CA set, the broker is reached over TLS and verified against that CA, as a
Django settings module configures broker_use_ssl for rediss:// or amqps://.
"""
import json
import os
import ssl
import time

from celery import Celery

app = Celery("tasks", broker=os.environ["CELERY_BROKER_URL"])
app.conf.update(
    worker_hijack_root_logger=False,
    broker_connection_retry_on_startup=True,
    task_default_queue=os.environ.get("CELERY_QUEUE", "celery"),
    # CELERY_TASK_EVENTS=1: as `celery worker -E`.
    worker_send_task_events=os.environ.get("CELERY_TASK_EVENTS") == "1",
    # CELERY_TRANSPORT_OPTIONS='{"global_keyprefix": "shop:"}': kombu's, as a project sets them.
    broker_transport_options=json.loads(os.environ.get("CELERY_TRANSPORT_OPTIONS", "{}")),
)
if os.environ.get("CELERY_BROKER_CA"):
    if app.conf.broker_url.startswith("rediss://"):
        app.conf.broker_use_ssl = {
            "ssl_cert_reqs": ssl.CERT_REQUIRED,
            "ssl_ca_certs": os.environ["CELERY_BROKER_CA"],
        }
    else:  # amqps:// through py-amqp
        app.conf.broker_use_ssl = {
            "cert_reqs": ssl.CERT_REQUIRED,
            "ca_certs": os.environ["CELERY_BROKER_CA"],
        }


@app.task
def add(x, y):
    return x + y


@app.task
def sleep(seconds):
    time.sleep(seconds)


@app.task
def fail(message):
    raise RuntimeError(message)


if os.environ.get("VITALS_PING_URL"):
    # docs/checks/heartbeat.md's handler, unchanged but for where the base URL comes from.
    import requests
    from celery.signals import task_failure, task_success

    VITALS = os.environ["VITALS_PING_URL"]

    @task_success.connect
    def ping_success(sender=None, **kwargs):
        requests.post(f"{VITALS}/{sender.name.replace('.', '_')}", timeout=2)

    @task_failure.connect
    def ping_failure(sender=None, exception=None, **kwargs):
        requests.post(f"{VITALS}/{sender.name.replace('.', '_')}/fail", data=repr(exception), timeout=2)
