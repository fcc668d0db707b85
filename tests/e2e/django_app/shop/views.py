import time

from django.core.cache import cache
from django.db import connection
from django.http import HttpResponse, JsonResponse


def home(request):
    return HttpResponse("<h1>shop home</h1>")


def health(request):
    return JsonResponse({"status": "ok"})


def slow(request):
    time.sleep(float(request.GET.get("s", "1")))
    return HttpResponse("slow done")


def boom(request):
    return HttpResponse("server error", status=500)


def article_health(request):
    """The hand-written view from the article vitals grew from: SELECT 1, then a cache
    round trip, on every request."""
    checks = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except Exception as e:
        checks["database"] = f"error: {str(e)}"
    try:
        cache.set("health_check", "ok", 5)
        val = cache.get("health_check")
        checks["cache"] = "ok" if val == "ok" else "error"
    except Exception as e:
        checks["cache"] = f"error: {str(e)}"
    status_code = 200 if all(v == "ok" for v in checks.values()) else 503
    return JsonResponse(
        {"status": "ok" if status_code == 200 else "error", "checks": checks}, status=status_code
    )
