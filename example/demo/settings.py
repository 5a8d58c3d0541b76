"""Settings of the example project: the embedded default broker (the ORM on SQLite).

Nothing to run besides this project: no Redis, no broker server. The cache is Django's
database cache, so the cluster's processes share statistics and cached results.
"""

from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = "djq-demo-only-not-a-secret"
DEBUG = True
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
USE_TZ = True
TIME_ZONE = "UTC"
ROOT_URLCONF = "demo.urls"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "djq",
    "djq_orm",
    "demo",
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
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
STATIC_URL = "static/"

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": BASE_DIR / "demo.sqlite3",
        # WAL lets the web process read while the cluster writes.
        "OPTIONS": {"timeout": 20, "init_command": "PRAGMA journal_mode=WAL;",
                    # Take the write lock when a transaction begins, so concurrent
                    # writers queue on the timeout instead of failing to upgrade.
                    "transaction_mode": "IMMEDIATE"},
    }
}
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.db.DatabaseCache",
        "LOCATION": "djq_demo_cache",
    }
}

# No broker key: djq uses its embedded default, the ORM broker on 'default'.
Q_CLUSTER = {
    "name": "demo",
    "workers": 2,
    "timeout": 30,
    "retry": 60,
    "label": "djq demo",
}
