"""Run the README's Flask, Django and FastAPI recipes through each framework's
test client.  CI runs this with pytest in a virtual environment of its own,
with the frameworks pinned in the `recipes` extra of setup.cfg; the main test
suite needs pytest alone, and runs the AWS Lambda recipe itself.

Each recipe, signed out, must refuse; signed in, it must redirect with
Cache-Control: no-store to a link that verify_url accepts for the customer.
"""

from __future__ import annotations

import re
import sys
import types
from pathlib import Path
from typing import Any

import pytest
from fastapi import HTTPException, Request

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import magiclink

KEY = "huG8GP38g4o5MNJAYKJ1UXXFWXLCpaNfhs0gCa05RFRunzqw7wZyVGOeUvfJIss"
CUSTOMER_ID = 4501


def recipe(framework: str) -> str:
    blocks = re.findall(
        r"```python\n(.*?)```", (ROOT / "README.md").read_text("utf-8"), re.DOTALL
    )
    found = [b for b in blocks if re.search(rf"^from {framework}\b", b, re.MULTILINE)]
    assert len(found) == 1, framework
    return found[0]


def run(code: str, module_name: str) -> dict[str, Any]:
    module = types.ModuleType(module_name)
    sys.modules[module_name] = module
    exec(compile(code, f"README.md ({module_name})", "exec"), module.__dict__)  # noqa: S102
    return module.__dict__


def assert_signs_in(response: Any, location: str, cache_control: str) -> None:
    assert "no-store" in cache_control
    claims = magiclink.verify_url(location, KEY, company="acme")
    assert claims["sub"] == str(CUSTOMER_ID)


@pytest.fixture(autouse=True)
def key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INVOICED_MAGIC_LINK_KEY", KEY)


def test_flask() -> None:
    app = run(recipe("flask"), "flask_recipe")["app"]
    app.secret_key = "tests"
    client = app.test_client()
    assert client.get("/billing").status_code == 401
    with client.session_transaction() as session:
        session["invoiced_customer_id"] = CUSTOMER_ID
    response = client.get("/billing")
    assert response.status_code == 302
    assert_signs_in(
        response, response.headers["Location"], response.headers["Cache-Control"]
    )


def test_django() -> None:
    from django.conf import settings

    # The settings line the README shows, as a project's settings.py has it.
    settings_line = re.search(
        r"`(INVOICED_MAGIC_LINK_KEY = os\.environ\[\"INVOICED_MAGIC_LINK_KEY\"\])`",
        (ROOT / "README.md").read_text("utf-8"),
    )
    assert settings_line
    import os

    project_settings: dict[str, Any] = {"os": os}
    exec(settings_line[1], project_settings)  # noqa: S102
    views = types.ModuleType("django_recipe_urls")
    sys.modules["django_recipe_urls"] = views
    settings.configure(
        INVOICED_MAGIC_LINK_KEY=project_settings["INVOICED_MAGIC_LINK_KEY"],
        SECRET_KEY="tests",
        ALLOWED_HOSTS=["testserver"],
        ROOT_URLCONF="django_recipe_urls",
        INSTALLED_APPS=[
            "django.contrib.auth",
            "django.contrib.contenttypes",
            "django.contrib.sessions",
        ],
        MIDDLEWARE=[
            "django.contrib.sessions.middleware.SessionMiddleware",
            "django.contrib.auth.middleware.AuthenticationMiddleware",
        ],
        DATABASES={
            "default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}
        },
        USE_TZ=True,
    )
    import django

    django.setup()
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.test import Client
    from django.urls import path

    call_command("migrate", verbosity=0)
    billing = run(recipe("django"), "django_recipe")["billing"]
    views.urlpatterns = [path("billing", billing)]  # type: ignore[attr-defined]
    # "your own model": a profile that knows the Invoiced customer id
    User.profile = property(  # type: ignore[attr-defined]
        lambda user: types.SimpleNamespace(invoiced_customer_id=CUSTOMER_ID)
    )
    client = Client()
    signed_out = client.get("/billing")
    assert signed_out.status_code == 302
    assert signed_out["Location"].startswith(settings.LOGIN_URL)  # to your login
    client.force_login(User.objects.create_user("ada"))
    response = client.get("/billing")
    assert response.status_code == 302
    assert response["Location"].endswith("?redirect_to=invoices")
    assert_signs_in(response, response["Location"], response["Cache-Control"])


def test_fastapi() -> None:
    from fastapi.testclient import TestClient

    class User:
        invoiced_customer_id = CUSTOMER_ID

    def current_user(request: Request) -> User:  # stands in for your own
        if request.headers.get("authorization") != "Bearer signed-in":
            raise HTTPException(status_code=401)
        return User()

    auth = types.ModuleType("myapp.auth")
    auth.User = User  # type: ignore[attr-defined]
    auth.current_user = current_user  # type: ignore[attr-defined]
    sys.modules["myapp"] = types.ModuleType("myapp")
    sys.modules["myapp.auth"] = auth
    app = run(recipe("fastapi"), "fastapi_recipe")["app"]
    client = TestClient(app)
    assert client.get("/billing", follow_redirects=False).status_code == 401
    response = client.get(
        "/billing",
        headers={"authorization": "Bearer signed-in"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert_signs_in(
        response, response.headers["location"], response.headers["cache-control"]
    )
    responses = app.openapi()["paths"]["/billing"]["get"]["responses"]
    assert "303" in responses and "200" not in responses
