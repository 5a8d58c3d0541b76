"""The result admin pages in a real headless Chromium (Debian package ``chromium``),
driven by Playwright's sync API against pytest-django's live server.

Skips when ``/usr/bin/chromium`` is missing on a developer machine; fails under CI=true
(the test command installs it).
"""

import os
import shutil
from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib import admin
from django.utils import timezone

from djq.models import Failure, Task
from djq_orm.models import OrmQ
from tests.services import require_service

CHROMIUM = os.environ.get("DJQ_TEST_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SCREENSHOT = os.environ.get("DJQ_TEST_SCREENSHOT", "/tmp/djq-admin-failed-tasks.png")
PASSWORD = "browser-test-pw"


def chromium_path():
    found = CHROMIUM if os.access(CHROMIUM, os.X_OK) else shutil.which("chromium")
    return require_service(
        f"Chromium at {CHROMIUM} (apt-get install chromium, or set DJQ_TEST_CHROMIUM)", found)


@pytest.fixture(scope="session")
def admin_static():
    """Let the live server serve the admin's CSS and JS even when the test settings have no
    ``STATIC_URL`` / ``django.contrib.staticfiles`` (Django's live server then crashes on
    every request: its static handler parses ``STATIC_URL=None``). Without staticfiles the
    server serves ``STATIC_ROOT``, so point that at the admin's own static directory.
    A no-op when the settings already configure static files."""
    from django.conf import settings
    from django.test import override_settings

    changes = {}
    if not settings.STATIC_URL:
        changes["STATIC_URL"] = "/static/"
    if "django.contrib.staticfiles" not in settings.INSTALLED_APPS and not settings.STATIC_ROOT:
        changes["STATIC_ROOT"] = str(Path(admin.__file__).parent / "static")
    override = override_settings(**changes)
    override.enable()
    try:
        yield
    finally:
        override.disable()


@pytest.fixture(scope="session")
def live_server(admin_static, live_server):
    """pytest-django's live server, started after :func:`admin_static`."""
    return live_server


@pytest.fixture
def page(live_server, monkeypatch):
    executable = chromium_path()
    sync_api = pytest.importorskip("playwright.sync_api")
    # Playwright's sync API runs an event loop in this thread; the test's own ORM calls
    # are still synchronous, so tell Django not to refuse them.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, args=ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.set_default_timeout(15_000)
            yield page
        finally:
            browser.close()


def make_task(tid, name, func, group, success, args, result):
    stopped = timezone.now()
    Task.objects.create(id=tid.ljust(32, "0"), name=name, func=func, args=args, kwargs={},
                        result=result, group=group, success=success,
                        started=stopped - timedelta(seconds=2.25), stopped=stopped)


@pytest.mark.django_db(transaction=True)
def test_resubmit_failure_and_search_successes(page, live_server, django_user_model):
    django_user_model.objects.create_superuser("admin", "admin@example.com", PASSWORD)
    make_task("f1", "failed-echo-one", "tests.tasks.boom", "parzen", False, ("bad",),
              "ValueError('bad')")
    make_task("f2", "failed-echo-two", "tests.tasks.add", "fixable", False, (2,),
              "TypeError(\"add() missing 1 required positional argument: 'b'\")")
    make_task("a1", "alpha-bravo-one", "math.floor", "parzen", True, (1.5,), 1)
    make_task("a2", "charlie-delta", "math.copysign", None, True, (1, -1), -1.0)

    page.goto(f"{live_server.url}/admin/login/?next=/admin/")
    page.fill("#id_username", "admin")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_selector("text=Site administration")
    assert page.get_by_role("link", name="djq", exact=True).count() == 1

    # Failed tasks: select one, run the resubmit action, see the message.
    page.click("text=Failed tasks")
    page.wait_for_selector("#result_list")
    row = page.locator("#result_list tbody tr", has_text="failed-echo-two")
    assert "TypeError" in row.inner_text()
    row.locator("input.action-select").check()
    page.select_option("select[name=action]", "resubmit")
    page.click("button[name=index]")
    message = page.locator("ul.messagelist li.success")
    message.wait_for()
    assert message.inner_text() == "1 task was resubmitted to the queue."
    assert page.locator("#result_list tbody tr").count() == 1
    assert "failed-echo-one" in page.locator("#result_list").inner_text()
    page.screenshot(path=SCREENSHOT, full_page=True)

    assert list(Failure.objects.values_list("name", flat=True)) == ["failed-echo-one"]
    assert [q.header()["func"] for q in OrmQ.objects.all()] == ["tests.tasks.add"]

    # The failure's detail page shows the error, read-only.
    page.click("text=failed-echo-one")
    page.wait_for_selector("text=ValueError('bad')")
    assert page.locator("input[name=_save]").count() == 0

    # Successful tasks: search by func.
    page.goto(f"{live_server.url}/admin/djq/success/")
    assert page.locator("#result_list tbody tr").count() == 2
    page.fill("#searchbar", "copysign")
    page.press("#searchbar", "Enter")
    page.wait_for_url("**q=copysign**")
    rows = page.locator("#result_list tbody tr")
    assert rows.count() == 1
    assert "charlie-delta" in rows.first.inner_text()
    # The group filter (sidebar) narrows to one group.
    page.goto(f"{live_server.url}/admin/djq/success/")
    page.locator("#changelist-filter").get_by_role("link", name="parzen", exact=True).click()
    page.wait_for_url("**group=parzen**")
    texts = page.locator("#result_list tbody tr").all_inner_texts()
    assert len(texts) == 1 and "alpha-bravo-one" in texts[0]
