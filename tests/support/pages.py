"""Pages served to browsers load everything from the server that serves them: no CDN, no other site."""

from __future__ import annotations

import re
from html.parser import HTMLParser


class _References(HTMLParser):
    def __init__(self):
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.found += [value for name, value in attrs if name in {"src", "href"} and value]


def assert_served_locally(client, path: str) -> list[str]:
    """The page at `path` names no other site, and each file it loads is served by `client`'s server;
    returns those files' paths."""
    page = client.get(path)
    assert page.status_code == 200 and page.mimetype == "text/html", path
    html = page.get_data(as_text=True)
    assert not re.search(r"(?i)(https?:)?//[a-z0-9.-]+\.[a-z]{2,}", html), f"{path} names another site"
    parser = _References()
    parser.feed(html)
    assert parser.found, f"{path} loads nothing: not the page expected"
    for reference in parser.found:
        assert reference.startswith("/") and not reference.startswith("//"), reference
        asset = client.get(reference)
        assert asset.status_code == 200 and len(asset.get_data()) > 1000, reference
    assert re.search(r'"?validatorUrl"?\s*:\s*null', html), "Swagger UI must not send the document to its validator"
    return parser.found
