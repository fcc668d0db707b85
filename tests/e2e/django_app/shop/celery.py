"""The project's Celery app, configured from Django's settings (CELERY_*): what Beat runs."""
import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shop.settings")
app = Celery("shop")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.set_default()


@app.task(name="shop.tick")
def tick():
    # The heartbeat a real periodic task sends when it succeeds (the demo sets the URL).
    url = os.environ.get("VITALS_HEARTBEAT_URL")
    if url:
        import requests

        requests.post(url, timeout=5)
    return "tick"
