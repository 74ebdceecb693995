"""Settings of the lab's copy of the main website. The database comes from the environment or a file."""

import json
import os
from pathlib import Path
from typing import Any

BASE_DIR = Path(__file__).resolve().parent.parent
DB_CONFIG = Path(os.environ.get("DJANGO_DB_CONFIG", "/etc/pythonanywhere_site/database.json"))


def database() -> dict[str, Any]:
    """The default database: DJANGO_DB_* variables, falling back to the JSON file DJANGO_DB_CONFIG."""
    from_file: dict[str, Any] = json.loads(DB_CONFIG.read_text()) if DB_CONFIG.is_file() else {}
    keys = ("engine", "name", "user", "password", "host", "port")
    conf = {key: os.environ.get(f"DJANGO_DB_{key.upper()}", from_file.get(key, "")) for key in keys}
    engine = conf["engine"] or "postgresql"
    return {
        "ENGINE": engine if "." in engine else f"django.db.backends.{engine}",
        "NAME": conf["name"] or "pythonanywhere",
        "USER": conf["user"],
        "PASSWORD": conf["password"],
        "HOST": conf["host"],
        "PORT": str(conf["port"] or ""),
        "CONN_MAX_AGE": 0,
        "OPTIONS": {"connect_timeout": 10} if "postgresql" in engine else {},
    }


SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "lab-only-not-a-secret")
DEBUG = os.environ.get("DJANGO_DEBUG", "") == "1"
ALLOWED_HOSTS = ["*"]

INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "announcements",
]
MIDDLEWARE: list[str] = []
ROOT_URLCONF = "pythonanywhere_site.urls"
WSGI_APPLICATION = "pythonanywhere_site.wsgi.application"
DATABASES = {"default": database()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
TIME_ZONE = "UTC"
