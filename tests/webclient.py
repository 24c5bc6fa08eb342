"""One visitor of a real server, without a browser: cookies, forms and redirects as a browser
handles them, for tests of the site running in its own processes (tests/deployment.py).

    visitor = WebClient()
    page = visitor.get(f"{server.url}/accounts/login/")
    page = visitor.submit(page, "form.login", {"login": email, "password": password})
    page.status, page.headers["Location"], page.text

Cookies are kept per host, not per port, as browsers keep them: two servers on 127.0.0.1 see
the same cookies, like two web servers behind one address. Redirects are not followed unless
asked (``follow=True``), so a test sees them.
"""

import http.cookiejar
import mimetypes
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass, field
from html.parser import HTMLParser


@dataclass
class Page:
    url: str
    status: int
    headers: dict
    text: str

    def forms(self) -> list["Form"]:
        parser = _FormParser()
        parser.feed(self.text)
        return parser.forms

    def form(self, selector: str) -> "Form":
        """The form matched by ``selector``: ``#id``, ``.class`` or an action path."""
        matches = [form for form in self.forms() if form.matches(selector)]
        assert len(matches) == 1, f"{len(matches)} forms match {selector!r} on {self.url}"
        return matches[0]

    def images(self) -> list[str]:
        """The ``src`` of every ``<img>``, absolute."""
        parser = _ImageParser()
        parser.feed(self.text)
        return [urllib.parse.urljoin(self.url, src) for src in parser.sources]


@dataclass
class Form:
    action: str
    method: str
    enctype: str
    attrs: dict
    # (name, value) in document order, as a browser submits them without changes.
    fields: list[tuple[str, str]] = field(default_factory=list)

    def matches(self, selector: str) -> bool:
        if selector.startswith("#"):
            return self.attrs.get("id") == selector[1:]
        if selector.startswith("."):
            return selector[1:] in (self.attrs.get("class") or "").split()
        return self.action == selector


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # the 3xx comes back to the caller as it is


class WebClient:
    """``host``: the site's name, sent as the Host header whichever server is asked, as a load
    balancer in front of several servers passes it on."""

    def __init__(self, host: str | None = None):
        self.host = host
        self.cookies = http.cookiejar.CookieJar()
        self._opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.cookies), _NoRedirects()
        )

    def cookie(self, name: str) -> str | None:
        return next((cookie.value for cookie in self.cookies if cookie.name == name), None)

    def get(self, url: str, *, follow: bool = False) -> Page:
        return self.request("GET", url, follow=follow)

    def request(
        self, method: str, url: str, *, data=None, headers=None, follow: bool = False
    ) -> Page:
        headers = {**({"Host": self.host} if self.host else {}), **(headers or {})}
        request = urllib.request.Request(  # noqa: S310 (tests' own servers)
            url, data=data, method=method, headers=headers
        )
        try:
            response = self._opener.open(request, timeout=30)
        except urllib.error.HTTPError as error:
            response = error  # 3xx, 4xx and 5xx are answers too
        with response:
            page = Page(
                url=url,
                status=response.status,
                headers=dict(response.headers.items()),
                text=response.read().decode("utf-8", errors="replace"),
            )
        if follow and page.status in (301, 302, 303, 307, 308):
            return self.get(urllib.parse.urljoin(url, page.headers["Location"]), follow=True)
        return page

    def submit(
        self,
        page: Page,
        selector: str,
        values: dict | None = None,
        *,
        files: dict | None = None,
        button: tuple[str, str] | None = None,
        follow: bool = False,
    ) -> Page:
        """Submit the form ``selector`` of ``page`` as a browser does, with ``values`` typed in
        (name: value) and ``files`` chosen (name: (filename, bytes)); ``button`` is the
        (name, value) of the submit button pressed, if it has a name."""
        form = page.form(selector)
        values = dict(values or {})
        fields = [(name, values.pop(name, value)) for name, value in form.fields]
        fields += list(values.items())  # fields the page adds with script, or left empty
        if button:
            fields.append(button)
        url = urllib.parse.urljoin(page.url, form.action or page.url)
        # Django checks the origin of a POST against the host, as browsers send it.
        parts = urllib.parse.urlsplit(url)
        headers = {"Origin": f"{parts.scheme}://{self.host or parts.netloc}"}
        if form.method == "get":
            query = urllib.parse.urlencode(fields)
            return self.get(f"{url.split('?')[0]}?{query}", follow=follow)
        if form.enctype == "multipart/form-data":
            data, headers["Content-Type"] = _multipart(fields, files or {})
        else:
            assert not files, f"the form {selector!r} does not take files"
            data = urllib.parse.urlencode(fields).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        return self.request("POST", url, data=data, headers=headers, follow=follow)


def _multipart(fields, files) -> tuple[bytes, str]:
    boundary = f"----irlearn{uuid.uuid4().hex}"
    parts = []
    for name, value in fields:
        head = f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
        parts.append(f"{head}{value}\r\n".encode())
    for name, (filename, content) in files.items():
        content_type = mimetypes.guess_type(filename)[0] or "application/octet-stream"
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
            f'filename="{filename}"\r\nContent-Type: {content_type}\r\n\r\n'
        )
        parts.append(head.encode() + content + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


class _FormParser(HTMLParser):
    """Every form's fields with the values a browser would submit if nobody changed them."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self._form = None
        self._select = None  # (name, multiple, options [(value, selected)])
        self._option = None
        self._textarea = None

    def handle_starttag(self, tag, attrs):
        attrs = {name: value if value is not None else "" for name, value in attrs}
        if tag == "form":
            self._form = Form(
                action=attrs.get("action", ""),
                method=attrs.get("method", "get").lower(),
                enctype=attrs.get("enctype", "application/x-www-form-urlencoded").lower(),
                attrs=attrs,
            )
            self.forms.append(self._form)
            return
        if self._form is None or "disabled" in attrs or not attrs.get("name"):
            if tag == "option" and self._select is not None:
                self._option_start(attrs)
            return
        name = attrs["name"]
        if tag == "input":
            kind = attrs.get("type", "text").lower()
            if kind in ("submit", "button", "image", "reset", "file"):
                return
            if kind in ("checkbox", "radio"):
                if "checked" in attrs:
                    self._form.fields.append((name, attrs.get("value", "on")))
                return
            self._form.fields.append((name, attrs.get("value", "")))
        elif tag == "textarea":
            self._textarea = [name, ""]
        elif tag == "select":
            self._select = (name, "multiple" in attrs, [])

    def _option_start(self, attrs):
        self._option = [attrs.get("value"), "selected" in attrs, ""]
        self._select[2].append(self._option)

    def handle_data(self, data):
        if self._textarea is not None:
            self._textarea[1] += data
        elif self._option is not None:
            self._option[2] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "textarea" and self._textarea is not None:
            name, text = self._textarea
            # A newline straight after <textarea> is not part of the value (HTML spec).
            self._form.fields.append((name, text.removeprefix("\n")))
            self._textarea = None
        elif tag == "option":
            self._option = None
        elif tag == "select" and self._select is not None:
            name, multiple, options = self._select
            values = [value if value is not None else text.strip() for value, _, text in options]
            chosen = [
                value for value, (_, selected, _) in zip(values, options, strict=True) if selected
            ]
            if not multiple and not chosen and values:
                chosen = values[:1]  # a single select always submits one option
            self._form.fields.extend((name, value) for value in chosen)
            self._select = None


class _ImageParser(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.sources: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            self.sources.extend(value for name, value in attrs if name == "src" and value)
