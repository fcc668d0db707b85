import time

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
