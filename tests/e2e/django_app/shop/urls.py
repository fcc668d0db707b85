from django.conf import settings
from django.urls import path, re_path
from django.views.static import serve

from . import views

urlpatterns = [
    path("", views.home),
    path("health/", views.health),
    path("slow/", views.slow),
    path("boom/", views.boom),
    # Static files as a production setup serves them (here without a web server in front).
    re_path(r"^static/(?P<path>.*)$", serve, {"document_root": settings.STATIC_ROOT}),
]
