"""URLs: the front page and a health page that says which migrations the database has."""

from django.db.migrations.recorder import MigrationRecorder
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path


def front(request: HttpRequest) -> HttpResponse:
    return HttpResponse("PythonAnywhere (lab copy of the main website)\n", content_type="text/plain")


def health(request: HttpRequest) -> JsonResponse:
    applied = MigrationRecorder.Migration.objects.filter(app="announcements").order_by("name")
    return JsonResponse({"status": "ok", "announcements_migrations": [m.name for m in applied]})


urlpatterns = [
    path("", front),
    path("health/", health),
]
