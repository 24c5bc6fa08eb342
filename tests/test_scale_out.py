"""Two web servers, one site: the scale-out deployment of the README, in real processes.

Two gunicorn instances, each on a port of its own, serve the site from one PostgreSQL database and
one Redis (CACHE_URL=rediscache://...), which then holds the page cache, the course structures,
the rate limits and the sessions (cached_db: read from Redis, written through to the database).
Every visitor here is sent to one server or the other in turn, under the site's one host name, as
a load balancer without sticky sessions would: nothing that one server does may be missed or
contradicted by the other at the next request.

PostgreSQL only (the production database; several servers on one SQLite file are no deployment):
these tests run in the PostgreSQL run of CI, and skip in the SQLite run.
"""

import json

import pytest

from tests.deployment import WebServer, environment, manage, on_postgresql, redis_database
from tests.factories import PASSWORD
from tests.webclient import WebClient

pytestmark = on_postgresql

HOST = "irlearn.example"
REDIS_DATABASE = 12
LEARNER = "priya.shah@example.org"
EDITOR = "editor@example.org"

SET_UP = """
import json
from tests.factories import (
    ContentEditorFactory, LessonFactory, ProcedureFactory, UserFactory, course_with_content
)

UserFactory(email="priya.shah@example.org", full_name="Priya Shah")
ContentEditorFactory(email="editor@example.org")
procedure = ProcedureFactory(title="Nephrostomy", summary="A tube drains the kidney.")
course = course_with_content(modules=1, lessons=2, questions=0, title="Drains and tubes")
draft = LessonFactory(module=course.modules.get(), title="Aftercare at home", status="draft")
print(json.dumps({
    "procedure": [procedure.pk, procedure.get_absolute_url()],
    "course": course.get_absolute_url(),
    "draft_lesson": draft.pk,
}))
"""


@pytest.fixture
def servers(process_database, tmp_path):
    """Servers A and B on one database and one Redis; and what the set-up made."""
    cache_url = redis_database(REDIS_DATABASE).replace("redis://", "rediscache://")
    env = environment(
        process_database,
        CACHE_URL=cache_url,
        DJANGO_ALLOWED_HOSTS=f"{HOST},127.0.0.1",
        # Plain HTTP on 127.0.0.1: the TLS-terminating proxy is not what this test is about.
        DJANGO_SECURE_SSL_REDIRECT="0",
        DJANGO_SECURE_COOKIES="0",
    )
    content = json.loads(manage(env, "shell", "-v", "0", "-c", SET_UP).splitlines()[-1])
    pair = [WebServer(env, tmp_path / f"gunicorn-{name}.log") for name in "ab"]
    try:
        for server in pair:
            server.start()
        for server in pair:
            server.wait()
        yield *pair, content
    finally:
        for server in pair:
            server.stop()
        redis_database(REDIS_DATABASE)


def log_in(server, email: str) -> WebClient:
    visitor = WebClient(host=HOST)
    page = visitor.get(f"{server.url}/accounts/login/")
    page = visitor.submit(page, "/accounts/login/", {"login": email, "password": PASSWORD})
    assert page.status == 302, f"login failed ({page.status})"
    return visitor


def log_in_to_the_admin(server, email: str) -> WebClient:
    editor = WebClient(host=HOST)
    page = editor.get(f"{server.url}/admin/login/")
    page = editor.submit(page, "#login-form", {"username": email, "password": PASSWORD})
    assert page.status == 302, f"admin login failed ({page.status})"
    return editor


def admin_save(editor: WebClient, url: str, form: str, values: dict) -> None:
    page = editor.submit(editor.get(url), form, values, button=("_save", "Save"))
    errors = [line for line in page.text.splitlines() if "errorlist" in line]
    assert page.status == 302, f"the admin did not save {url} ({page.status}): {errors}"


def test_a_learner_logged_in_on_one_server_is_logged_in_on_the_other_until_logging_out_on_either(
    servers,
):
    a, b, content = servers
    learner = log_in(a, LEARNER)
    session = learner.cookie("sessionid")
    replay = WebClient(host=HOST)  # another browser holding a copy of the session cookie

    def replayed(server):
        return replay.request(
            "GET", f"{server.url}/learn/my/", headers={"Cookie": f"sessionid={session}"}
        )

    for server in (b, a, b):
        page = learner.get(f"{server.url}/learn/my/")
        assert page.status == 200, f"logged out on {server.url}"
        assert "Priya Shah" in page.text
    # What one server writes for the learner, the other reads at once.
    course = learner.get(f"{b.url}{content['course']}")
    assert learner.submit(course, f"{content['course']}enrol/").status == 302
    assert "Drains and tubes" in learner.get(f"{a.url}/learn/my/").text
    assert replayed(b).status == 200

    page = learner.submit(learner.get(f"{a.url}/learn/my/"), "/accounts/logout/")

    assert page.status == 302
    for server in (b, a):
        assert learner.get(f"{server.url}/learn/my/").status == 302
    # The session is gone from Redis and the database, not just from this browser: a copy of
    # its cookie (another tab, a stolen cookie) is refused by the server that did not log out.
    for server in (b, a):
        assert replayed(server).status == 302, f"{server.url} still takes the ended session"


def test_a_change_published_through_one_server_shows_on_the_other_at_the_next_request(servers):
    a, b, content = servers
    procedure_id, procedure_url = content["procedure"]
    visitor = WebClient(host=HOST)  # not logged in: whole pages come from the page cache
    learner = log_in(b, LEARNER)  # logged in: the course outline comes from the cache
    page = visitor.get(f"{a.url}{procedure_url}")
    assert page.status == 200 and "A tube drains the kidney." in page.text
    assert visitor.get(f"{b.url}{procedure_url}").headers.get("X-Page-Cache") == "hit"
    for client in (visitor, learner):
        assert "Aftercare at home" not in client.get(f"{a.url}{content['course']}").text
    assert visitor.get(f"{b.url}{content['course']}").headers.get("X-Page-Cache") == "hit"

    editor = log_in_to_the_admin(b, EDITOR)
    admin_save(
        editor,
        f"{b.url}/admin/procedures/procedure/{procedure_id}/change/",
        "#procedure_form",
        {"summary": "A thin tube drains urine from the kidney."},
    )
    admin_save(
        editor,
        f"{b.url}/admin/courses/lesson/{content['draft_lesson']}/change/",
        "#lesson_form",
        {"status": "published"},
    )

    for server in (a, b):
        page = visitor.get(f"{server.url}{procedure_url}")
        assert "A thin tube drains urine from the kidney." in page.text, server.url
        assert "A tube drains the kidney." not in page.text, server.url
        for client in (visitor, learner):
            assert "Aftercare at home" in client.get(f"{server.url}{content['course']}").text
