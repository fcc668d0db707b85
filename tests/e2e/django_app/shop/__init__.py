# The project's Celery app loads with Django, as Celery's Django guide sets it up, so tasks
# and django-health-check's celery_ping (which pings through Celery's default app) use it.
from .celery import app as celery_app

__all__ = ("celery_app",)
