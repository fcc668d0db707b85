"""A minimal Django project for vitals' end-to-end tests, demo and benchmark: a home page, a
slow view that occupies a worker, a view that fails, the admin's static files
(collectstatic), django-celery-beat's schedule, and the two in-app health checks vitals is
measured against (django-health-check at /ht/, the article's hand-written view at
/article-health/). Dependencies come from the environment as in production: DATABASE_URL,
REDIS_URL, CELERY_BROKER_URL; without them it runs on SQLite and a local-memory cache."""
import importlib.util
import os
from urllib.parse import unquote, urlsplit

BASE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SECRET_KEY = "vitals-e2e-tests-only"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
]
# Debian's python3-django-celery-beat and python3-django-health-check, when installed.
if importlib.util.find_spec("django_celery_beat"):
    INSTALLED_APPS.append("django_celery_beat")
HEALTH_CHECK_APPS = [
    "health_check",
    "health_check.db",
    "health_check.cache",
    "health_check.contrib.celery_ping",
    "health_check.contrib.rabbitmq",
]
if importlib.util.find_spec("health_check"):
    INSTALLED_APPS += HEALTH_CHECK_APPS
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]


def database_from_url(url):
    parts = urlsplit(url)
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": parts.path.lstrip("/"),
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": parts.hostname or "",
        "PORT": str(parts.port or ""),
        "CONN_MAX_AGE": 60,
    }


if os.environ.get("DATABASE_URL"):
    DATABASES = {"default": database_from_url(os.environ["DATABASE_URL"])}
else:
    DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
if os.environ.get("REDIS_URL"):
    CACHES = {
        "default": {"BACKEND": "django_redis.cache.RedisCache", "LOCATION": os.environ["REDIS_URL"]}
    }
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "memory://")
BROKER_URL = CELERY_BROKER_URL  # django-health-check's rabbitmq check reads this name
CELERY_BEAT_SYNC_EVERY = int(os.environ.get("CELERY_BEAT_SYNC_EVERY", "0"))
CELERY_TIMEZONE = "UTC"
DJANGO_CELERY_BEAT_TZ_AWARE = True
ROOT_URLCONF = "shop.urls"
WSGI_APPLICATION = "shop.wsgi.application"
STATIC_URL = "/static/"
STATIC_ROOT = os.environ.get("STATIC_ROOT", os.path.join(BASE_DIR, "staticfiles"))
# Hashed names and staticfiles.json, as most production deploys have them.
if os.environ.get("STATIC_MANIFEST"):
    STATICFILES_STORAGE = "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"
USE_TZ = True
