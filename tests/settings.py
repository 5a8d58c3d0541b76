"""Django settings for djq's own test suite.

``default`` is a SQLite file (cluster tests run real processes that must share it).
``pg`` exists when the test command started PostgreSQL (``DJQ_TEST_POSTGRES_URL``), and
``pg_prepared``: the same database with prepared statements (``PG_PREPARED_OPTIONS``).
"""

import os
import tempfile
from urllib.parse import urlparse

SECRET_KEY = "djq-tests-not-secret"
DEBUG = False
USE_TZ = True
TIME_ZONE = "UTC"
ROOT_URLCONF = "tests.urls"
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
STATIC_URL = "static/"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "djq",
    "djq_orm",
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
TEMPLATES = [{
    "BACKEND": "django.template.backends.django.DjangoTemplates",
    "APP_DIRS": True,
    "OPTIONS": {"context_processors": [
        "django.template.context_processors.request",
        "django.contrib.auth.context_processors.auth",
        "django.contrib.messages.context_processors.messages",
    ]},
}]

_tmp = os.environ.get("DJQ_TEST_TMP") or tempfile.gettempdir()
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.path.join(_tmp, f"djq-tests-{os.getpid()}.sqlite3"),
        "OPTIONS": {"timeout": 30, "transaction_mode": "IMMEDIATE"},
        "TEST": {"NAME": os.path.join(_tmp, f"djq-test-db-{os.getpid()}.sqlite3")},
    },
}

_pg = os.environ.get("DJQ_TEST_POSTGRES_URL")
PG_PREPARED_OPTIONS = {"server_side_binding": True, "prepare_threshold": 0}
if _pg:
    _u = urlparse(_pg)
    DATABASES["pg"] = {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": _u.path.lstrip("/"),
        "USER": _u.username or "postgres",
        "PASSWORD": _u.password or "",
        "HOST": _u.hostname,
        "PORT": _u.port,
    }
    # The same database through the connection options of a deployment without a
    # transaction-pooling proxy (the ORM broker's README recommends them): parameters
    # bound on the server, every statement prepared from its first use.
    DATABASES["pg_prepared"] = {
        **DATABASES["pg"],
        "OPTIONS": PG_PREPARED_OPTIONS,
        "TEST": {"MIRROR": "pg"},
    }

CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

Q_CLUSTER = {"name": "djq-tests", "sync": False}
