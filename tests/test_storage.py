"""Uploads in S3-compatible storage, as a deployment with more than one web server keeps them.

Image stacks too: their uploads wait under a private prefix of the bucket, and the task worker
writes the slices' images into it.

The site runs under gunicorn with the variables a deployment sets (AWS_STORAGE_BUCKET_NAME,
AWS_S3_ENDPOINT_URL, AWS_ACCESS_KEY_ID...), read by irlearn/settings.py as in production, against
a local S3-compatible server: moto's, started by the test on 127.0.0.1. An editor uploads a
procedure figure and a course cover through the admin; the objects must land in the bucket, and
the public pages must link to them with signed links that fetch them, under a Content Security
Policy that lets browsers load them. The bucket is private: a link without its signature fails.
"""

import json
import logging
import urllib.error
import urllib.parse
import urllib.request

import boto3
import pytest

from tests.deployment import SqliteDatabase, WebServer, environment, manage
from tests.factories import PASSWORD, png_bytes
from tests.webclient import WebClient

BUCKET = "irlearn-media"
REGION = "eu-west-2"
ACCESS_KEY = "irlearn-test-access-key"
SECRET_KEY = "irlearn-test-secret-key"  # moto takes any

SET_UP = """
import json
from tests.factories import ContentEditorFactory, CourseFactory, ProcedureFactory

editor = ContentEditorFactory(email="editor@example.org")
procedure = ProcedureFactory(title="Nephrostomy")
course = CourseFactory(title="Drains and tubes")
print(json.dumps({
    "procedure": [procedure.pk, procedure.get_absolute_url()],
    "course": [course.pk, course.get_absolute_url()],
}))
"""


@pytest.fixture
def s3():
    """A local S3-compatible server with the site's bucket, as an operator would create it."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # a line for every request
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    # moto keeps its buckets in this process, from one server to the next: start empty.
    assert WebClient().request("POST", f"{endpoint}/moto-api/reset").status == 200
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
    )
    client.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    client.endpoint = endpoint
    yield client
    server.stop()


def s3_environment(process_database, s3, tmp_path) -> dict[str, str]:
    """The variables of a deployment whose uploads are in the test's bucket."""
    return environment(
        process_database,
        AWS_STORAGE_BUCKET_NAME=BUCKET,
        AWS_S3_ENDPOINT_URL=s3.endpoint,
        AWS_S3_REGION_NAME=REGION,
        AWS_ACCESS_KEY_ID=ACCESS_KEY,
        AWS_SECRET_ACCESS_KEY=SECRET_KEY,
        # No shared AWS configuration of the machine's may change what the settings say.
        AWS_CONFIG_FILE=str(tmp_path / "no-aws-config"),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "no-aws-credentials"),
        # Plain HTTP on 127.0.0.1: the TLS-terminating proxy is not what this test is about.
        DJANGO_SECURE_SSL_REDIRECT="0",
        DJANGO_SECURE_COOKIES="0",
        DJANGO_ALLOWED_HOSTS="127.0.0.1",
    )


@pytest.fixture
def site(process_database, s3, tmp_path):
    """The site under gunicorn, its uploads in the bucket; returns (server, ids and URLs)."""
    env = s3_environment(process_database, s3, tmp_path)
    content = json.loads(manage(env, "shell", "-v", "0", "-c", SET_UP).splitlines()[-1])
    with WebServer(env, tmp_path / "gunicorn.log") as server:
        yield server, content


def log_in_to_the_admin(server, email: str) -> WebClient:
    editor = WebClient()
    page = editor.get(f"{server.url}/admin/login/")
    page = editor.submit(page, "#login-form", {"username": email, "password": PASSWORD})
    assert page.status == 302, f"admin login failed ({page.status})"
    return editor


def add_inline_row(page, form_selector: str, prefix: str) -> tuple[str, dict]:
    """What the admin's "Add another" button does: a row from the inline's empty template, and
    one more in the management form's count. Returns the row's prefix and the fields to post."""
    fields = dict(page.form(form_selector).fields)
    index = int(fields[f"{prefix}-TOTAL_FORMS"])
    template = f"{prefix}-__prefix__-"
    row = {
        name.replace("__prefix__", str(index)): value
        for name, value in fields.items()
        if name.startswith(template)
    }
    return f"{prefix}-{index}", {**row, f"{prefix}-TOTAL_FORMS": str(index + 1)}


def saved(page) -> None:
    errors = [line for line in page.text.splitlines() if "errorlist" in line or "errornote" in line]
    assert page.status == 302, f"the admin did not save ({page.status}): {errors}"


def bucket_objects(s3, prefix: str) -> dict[str, bytes]:
    listing = s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix)
    return {
        item["Key"]: s3.get_object(Bucket=BUCKET, Key=item["Key"])["Body"].read()
        for item in listing.get("Contents", [])
    }


def img_src_sources(page) -> list[str]:
    policy = page.headers["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";") if part.strip())
    return directives["img-src"].split()


def fetch(url: str) -> tuple[int, bytes]:
    """A browser loading an image: no cookies of the site, just the link."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 (the test's S3)
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, b""


def assert_served_from_the_bucket(page, s3, key: str, content: bytes) -> None:
    """``page`` shows the object ``key`` through a signed link to the bucket that works, and its
    Content Security Policy lets the browser load it."""
    bucket_url = f"{s3.endpoint}/{BUCKET}/"
    images = [src for src in page.images() if src.startswith(bucket_url)]
    assert [urllib.parse.urlsplit(src).path for src in images] == [f"/{BUCKET}/{key}"], (
        f"{page.url} should show {key} from the bucket; its images: {page.images()}"
    )
    link = images[0]
    assert "X-Amz-Signature=" in link, "querystring auth is on: links are signed"
    assert fetch(link) == (200, content)
    assert fetch(link.split("?")[0])[0] == 403, "the bucket is private"
    assert s3.endpoint in img_src_sources(page), "CSP img-src must allow the bucket's origin"


def test_a_figure_uploaded_in_the_admin_is_stored_in_the_bucket_and_shown_from_it(site, s3):
    server, content = site
    procedure_id, procedure_url = content["procedure"]
    editor = log_in_to_the_admin(server, "editor@example.org")
    image = png_bytes(size=(40, 30))

    change = editor.get(f"{server.url}/admin/procedures/procedure/{procedure_id}/change/")
    row, fields = add_inline_row(change, "#procedure_form", "figures")
    fields[f"{row}-alt_text"] = "A tube in the kidney"
    page = editor.submit(
        change,
        "#procedure_form",
        fields,
        files={f"{row}-image": ("tube.png", image)},
        button=("_save", "Save"),
    )

    saved(page)
    stored = bucket_objects(s3, "procedures/figures/")
    assert list(stored.values()) == [image]
    public = WebClient().get(f"{server.url}{procedure_url}")
    assert public.status == 200
    assert_served_from_the_bucket(public, s3, next(iter(stored)), image)


def test_a_course_cover_uploaded_in_the_admin_is_stored_in_the_bucket_and_shown_from_it(site, s3):
    server, content = site
    course_id, course_url = content["course"]
    editor = log_in_to_the_admin(server, "editor@example.org")
    cover = png_bytes(size=(120, 60), colour=(200, 80, 20))

    change = editor.get(f"{server.url}/admin/courses/course/{course_id}/change/")
    page = editor.submit(
        change,
        "#course_form",
        {"cover_alt": "Drainage tubes on a tray"},
        files={"cover": ("drains.png", cover)},
        button=("_save", "Save"),
    )

    saved(page)
    stored = bucket_objects(s3, "courses/covers/")
    assert list(stored.values()) == [cover]
    visitor = WebClient()
    for url in (course_url, "/learn/"):
        page = visitor.get(f"{server.url}{url}")
        assert page.status == 200
        assert_served_from_the_bucket(page, s3, next(iter(stored)), cover)


LINK_ORIGIN = """
import json
from urllib.parse import urlsplit
from django.conf import settings
from django.core.files.storage import default_storage

link = urlsplit(default_storage.url("procedures/figures/tube.png"))
origin = f"{link.scheme}://{link.netloc}"
print(json.dumps({"origin": origin, "img-src": settings.SECURE_CSP["img-src"]}))
"""


@pytest.mark.parametrize(
    "variables",
    [
        {},  # Amazon S3, global links
        {"AWS_S3_REGION_NAME": "eu-west-2"},
        {"AWS_S3_ENDPOINT_URL": "https://objects.example.org:9000"},  # MinIO, Ceph, R2...
        {"AWS_S3_CUSTOM_DOMAIN": "media.irlearn.example"},  # a CDN in front of the bucket
    ],
    ids=["aws", "aws-region", "endpoint", "custom-domain"],
)
def test_pages_may_load_images_from_wherever_the_storage_links_to(variables, tmp_path):
    env = environment(
        SqliteDatabase(tmp_path / "unused.sqlite3"),
        AWS_STORAGE_BUCKET_NAME=BUCKET,
        AWS_ACCESS_KEY_ID=ACCESS_KEY,
        AWS_SECRET_ACCESS_KEY=SECRET_KEY,
        AWS_CONFIG_FILE=str(tmp_path / "no-aws-config"),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "no-aws-credentials"),
        AWS_EC2_METADATA_DISABLED="true",
        **variables,
    )

    found = json.loads(manage(env, "shell", "-v", "0", "-c", LINK_ORIGIN).splitlines()[-1])

    assert found["origin"] in found["img-src"]


STACK_SET_UP = """
from tests.factories import ContentEditorFactory

ContentEditorFactory(email="editor@example.org")
"""


def test_an_image_stack_is_processed_from_a_private_upload_into_the_bucket(
    process_database, s3, tmp_path
):
    """The upload waits under a private prefix that no page links to, the worker reads it from
    the bucket, writes the slices' images there, and deletes it; the manifest links each image
    with a working signed link."""
    from tests.stacks.conftest import ct_zip

    env = s3_environment(process_database, s3, tmp_path)
    manage(env, "shell", "-v", "0", "-c", STACK_SET_UP)
    series = ct_zip(slices=4, size=48)
    with WebServer(env, tmp_path / "gunicorn.log") as server:
        editor = log_in_to_the_admin(server, "editor@example.org")
        add = editor.get(f"{server.url}/admin/stacks/imagestack/add/")
        page = editor.submit(
            add,
            "#imagestack_form",
            {
                "title": "Hydronephrosis",
                "slug": "hydronephrosis",
                "description": "Axial CT of a dilated kidney.",
                "window_keys": "soft-tissue",
            },
            files={"source_file": ("Patient_Name.zip", series)},
            button=("_save", "Save"),
        )
        saved(page)
        waiting = bucket_objects(s3, "private/stack-uploads/")
        assert list(waiting.values()) == [series]
        assert "Patient_Name" not in next(iter(waiting)), "uploads are stored under random names"

        manage(env, "db_worker", "--batch", "--no-startup-delay", timeout=120)

        assert bucket_objects(s3, "private/") == {}, "the upload is deleted once processed"
        images = bucket_objects(s3, "stacks/")
        assert len(images) == 4 and all(key.endswith(".webp") for key in images)
        status = editor.get(f"{server.url}/admin/stacks/imagestack/1/status/")
        assert json.loads(status.text)["status"] == "ready"
        change = editor.get(f"{server.url}/admin/stacks/imagestack/1/change/")
        first = next(key for key in images if key.endswith("/0000.webp"))
        assert_served_from_the_bucket(change, s3, first, images[first])
