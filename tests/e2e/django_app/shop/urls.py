from django.conf import settings
from django.urls import include, path, re_path
from django.views.static import serve

from . import views

urlpatterns = [
    path("", views.home),
    path("health/", views.health),
    path("slow/", views.slow),
    path("boom/", views.boom),
    path("article-health/", views.article_health),
    # Static files as a production setup serves them (here without a web server in front).
    re_path(r"^static/(?P<path>.*)$", serve, {"document_root": settings.STATIC_ROOT}),
]

if "health_check" in settings.INSTALLED_APPS:
    urlpatterns.append(path("ht/", include("health_check.urls")))
