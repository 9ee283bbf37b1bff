"""The web component against a small site served by the test: crawl, scrape, sitemap,
robots.txt and the outbound guard."""

from __future__ import annotations

import gzip
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import pytest

from pipelines.components import default_registry
from pipelines.components.web import COMPONENT
from pipelines.engine import execute, parse_recipe
from pipelines.engine.components import ComponentError

# The test server is on loopback: allowed, as the http component's tests allow it.
LOCAL = {"http_allowed_hosts": ["127.0.0.1"]}
HTML = "text/html; charset=utf-8"


def _page(title: str, body: str, head: str = "") -> str:
    return f"<!DOCTYPE html><html><head><title>{title}</title>{head}</head><body>{body}</body></html>"


ARTICLE = _page(
    "Article",
    """
<header><a href="/">Site name</a></header>
<nav><a href="/about">About</a> <a href="/blog">Blog</a></nav>
<main>
<h1>Crawling the web</h1>
<p>Breadth-first <a href="blog/post-2">crawlers</a> visit pages level by level.</p>
<div class="ad">Buy things!</div>
<ul><li>robots.txt</li><li>sitemaps</li></ul>
<section id="comments"><p>First comment</p></section>
<script>var tracking = 1;</script>
</main>
<footer>Copyright 2026 <a href="/contact">Contact</a></footer>
""",
    head='<meta name="description" content="An article about crawling.">',
)

SITEMAP = """<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
  <url>
    <loc>{base}/</loc>
    <lastmod>2026-01-02</lastmod>
    <changefreq>weekly</changefreq>
    <priority>1.0</priority>
  </url>
  <url><loc>{base}/about</loc><lastmod>2026-01-01T10:00:00+00:00</lastmod></url>
  <url><loc>{base}/article</loc><priority>0.5</priority></url>
</urlset>
"""

SITEMAP_INDEX = """<?xml version="1.0" encoding="UTF-8"?>
<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
  <sitemap><loc>{base}/sitemap.xml</loc></sitemap>
</sitemapindex>
"""

# Instill's own fixtures: pipeline-backend pkg/component/operator/web/v0/main_test.go
# (fakeScrapeSitemapCaller and fakeHTTPRequests), served as they are.
INSTILL_SITEMAP = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
    "<url>"
    "<loc>https://www.example.com</loc>"
    "<lastmod>2021-01-01T00:00:00Z</lastmod>"
    "<changefreq>daily</changefreq>"
    "<priority>0.8</priority>"
    "</url>"
    "</urlset>"
)
INSTILL_PAGE = """
	<!DOCTYPE html>
	<html>
	<head>
		<title>Test</title>
	</head>
	<body>

	<h1>Test</h1>
	<p>Test</p>
	</body>
	</html>
	"""


def site(base: str, port: int) -> dict[str, tuple[int, str, str | bytes, dict[str, str]]]:
    """path → (status, content type, body, headers)."""

    def page(title: str, body: str, head: str = "") -> tuple[int, str, str, dict[str, str]]:
        return 200, HTML, _page(title, body, head), {}

    def redirect(to: str, code: int = 301) -> tuple[int, str, str, dict[str, str]]:
        return code, "text/plain", "", {"Location": to}

    return {
        "/": page(
            "Home",
            f"""
<header><a href="/">Home</a></header>
<nav><a href="/about">About</a> <a href="/blog">Blog</a></nav>
<main>
<a href="/article">Article</a>
<a href="/private/secret">Secret</a>
<a href="/old">Old</a>
<a href="http://localhost:{port}/elsewhere">Elsewhere</a>
<a href="/about#team">About again</a>
<a href="mailto:someone@example.com">Mail</a>
</main>
<footer><a href="/contact">Contact</a></footer>
""",
            head='<meta name="description" content="The home page.">',
        ),
        "/about": page("About", '<a href="/about/team">Team</a>'),
        "/about/team": page("Team", "<p>The team.</p>"),
        "/blog": page("Blog", '<a href="/blog/post-1">Post 1</a>'),
        "/blog/post-1": page("Post 1", "<p>One.</p>"),
        "/blog/post-2": page("Post 2", "<p>Two.</p>"),
        "/article": (200, HTML, ARTICLE, {}),
        "/private/secret": page("Secret", "<p>Not for crawlers.</p>"),
        "/old": redirect("/new"),
        "/new": page("New", "<p>Moved here.</p>"),
        "/contact": page("Contact", "<p>Write to us.</p>"),
        "/elsewhere": page("Elsewhere", "<p>Another host.</p>"),
        "/robots.txt": (200, "text/plain", "User-agent: *\nDisallow: /private/\n", {}),
        "/sitemap.xml": (200, "application/xml", SITEMAP.format(base=base), {}),
        "/sitemap.xml.gz": (200, "application/gzip", gzip.compress(SITEMAP.format(base=base).encode()), {}),
        "/sitemap_index.xml": (200, "application/xml", SITEMAP_INDEX.format(base=base), {}),
        "/not-xml": (200, "application/xml", "<urlset><url>", {}),
        "/bad-priority.xml": (
            200,
            "application/xml",
            "<urlset><url><loc>https://a.example/</loc><priority>high</priority></url></urlset>",
            {},
        ),
        "/instill/sitemap.xml": (200, "application/xml", INSTILL_SITEMAP, {}),
        "/instill/page": (200, "text/html", INSTILL_PAGE, {}),
        "/to-private": redirect("http://10.0.0.1/admin", 302),
        "/to-article": redirect("/article", 302),
        "/away": redirect(f"http://localhost:{port}/elsewhere", 302),
        "/missing": (404, HTML, _page("Not found", "<p>Nothing here.</p>"), {}),
        "/big": (200, HTML, _page("Big", "<p>" + "x" * 5000 + "</p>"), {}),
        "/pdf": (200, "application/pdf", b"%PDF-1.4 not really", {}),
        "/latin1": (200, "text/html; charset=iso-8859-1", _page("Café", "<p>Ça va</p>").encode("latin-1"), {}),
        "/latin1-bogus": (
            200,
            "text/html; charset=no-such-charset",
            _page("Café", "<p>Ça va</p>", head='<meta charset="iso-8859-1">').encode("latin-1"),
            {},
        ),
    }


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _SiteServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        self.server.requests.append(path)
        if path == "/slow":
            time.sleep(1.0)
        status, content_type, body, headers = self.server.pages.get(
            path, (404, "text/plain", "not found", {}) if path != "/slow" else (200, HTML, _page("Slow", ""), {})
        )
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)


class _SiteServer(ThreadingHTTPServer):
    daemon_threads = True
    requests: list[str]
    pages: dict[str, tuple[int, str, str | bytes, dict[str, str]]]

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass


class Site:
    def __init__(self, server: _SiteServer) -> None:
        self.server = server
        self.port = server.server_address[1]
        self.base = f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        return self.base + path

    @property
    def requests(self) -> list[str]:
        return self.server.requests


@pytest.fixture(scope="module")
def web_site() -> Iterator[Site]:
    server = _SiteServer(("127.0.0.1", 0), _Handler)
    server.requests = []
    port = server.server_address[1]
    server.pages = site(f"http://127.0.0.1:{port}", port)
    thread = threading.Thread(target=server.serve_forever, name="test-web-site", daemon=True)
    thread.start()
    try:
        yield Site(server)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def links(out: dict[str, Any], site: Site) -> list[str]:
    return [page["link"].removeprefix(site.base) for page in out["pages"]]


# --- TASK_CRAWL_SITE -----------------------------------------------------------------


async def test_crawl_is_breadth_first_within_allowed_domains_and_robots(run, web_site):
    """Every reachable page, level by level in link order: the off-domain link is not
    followed, the redirect is listed where it lands, robots.txt's Disallow is never fetched."""
    web_site.requests.clear()
    out = await run(
        COMPONENT,
        "TASK_CRAWL_SITE",
        {"url": web_site.url("/"), "allowed-domains": ["127.0.0.1"], "max-k": 0, "max-depth": 0},
        **LOCAL,
    )
    assert links(out, web_site) == [
        "/",
        "/about",
        "/blog",
        "/article",
        "/new",
        "/contact",
        "/about/team",
        "/blog/post-1",
        "/blog/post-2",
    ]
    assert out["pages"][0] == {"link": web_site.url("/"), "title": "Home"}
    assert out["pages"][4] == {"link": web_site.url("/new"), "title": "New"}
    assert "/private/secret" not in web_site.requests
    assert web_site.requests.count("/robots.txt") == 1


async def test_crawl_stops_at_max_k_and_max_depth(run, web_site):
    """max-k caps the pages; max-depth 1 is the root alone, 2 the root and its links."""
    crawl = {"url": web_site.url("/"), "allowed-domains": ["127.0.0.1"]}
    out = await run(COMPONENT, "TASK_CRAWL_SITE", {**crawl, "max-k": 3}, **LOCAL)
    assert links(out, web_site) == ["/", "/about", "/blog"]
    out = await run(COMPONENT, "TASK_CRAWL_SITE", {**crawl, "max-k": 30, "max-depth": 1}, **LOCAL)
    assert links(out, web_site) == ["/"]
    out = await run(COMPONENT, "TASK_CRAWL_SITE", {**crawl, "max-k": 30, "max-depth": 2}, **LOCAL)
    assert links(out, web_site) == ["/", "/about", "/blog", "/article", "/new", "/contact"]


async def test_crawl_without_allowed_domains_follows_other_hosts_the_guard_allows(run, web_site):
    """No allowed-domains: any host; localhost is another host, reached only when the
    deployment allows it (otherwise the guard refuses it and the page is left out)."""
    crawl = {"url": web_site.url("/"), "max-k": 30, "max-depth": 2}
    out = await run(COMPONENT, "TASK_CRAWL_SITE", crawl, **LOCAL)
    assert f"http://localhost:{web_site.port}/elsewhere" not in [p["link"] for p in out["pages"]]
    out = await run(COMPONENT, "TASK_CRAWL_SITE", crawl, http_allowed_hosts=["127.0.0.1", "localhost"])
    assert {"link": f"http://localhost:{web_site.port}/elsewhere", "title": "Elsewhere"} in out["pages"]


async def test_crawl_filter_patterns(run, web_site):
    """exclude-pattern drops matching URLs; include-pattern keeps only matching ones; a
    root that the filter excludes gives no pages (as Instill)."""
    crawl = {"url": web_site.url("/"), "allowed-domains": ["127.0.0.1"], "max-k": 30}
    out = await run(COMPONENT, "TASK_CRAWL_SITE", {**crawl, "filter": {"exclude-pattern": "blog"}}, **LOCAL)
    assert links(out, web_site) == ["/", "/about", "/article", "/new", "/contact", "/about/team"]
    out = await run(COMPONENT, "TASK_CRAWL_SITE", {**crawl, "filter": {"include-pattern": "/(about)?$"}}, **LOCAL)
    assert links(out, web_site) == ["/", "/about"]
    out = await run(COMPONENT, "TASK_CRAWL_SITE", {**crawl, "filter": {"exclude-pattern": "127"}}, **LOCAL)
    assert out == {"pages": []}
    with pytest.raises(ComponentError, match="exclude-pattern '\\(' is not a valid regular expression"):
        await run(COMPONENT, "TASK_CRAWL_SITE", {**crawl, "filter": {"exclude-pattern": "("}}, **LOCAL)


async def test_crawl_root_refused_by_robots_or_guard_or_timeout_is_an_error(run, web_site):
    """The root page failing is the task's error, with the reason."""
    with pytest.raises(ComponentError, match=r"robots.txt of .* disallows"):
        await run(COMPONENT, "TASK_CRAWL_SITE", {"url": web_site.url("/private/secret"), "max-k": 1}, **LOCAL)
    with pytest.raises(ComponentError, match="loopback addresses are not allowed"):
        await run(COMPONENT, "TASK_CRAWL_SITE", {"url": web_site.url("/"), "max-k": 1})
    with pytest.raises(ComponentError, match=r"timed out after 0.2 s"):
        await run(COMPONENT, "TASK_CRAWL_SITE", {"url": web_site.url("/slow"), "max-k": 1, "timeout": 200}, **LOCAL)


async def test_crawl_redirect_leaving_allowed_domains_is_not_followed(run, web_site):
    with pytest.raises(ComponentError, match=r"redirects to http://localhost:\d+/elsewhere, which is outside"):
        await run(
            COMPONENT,
            "TASK_CRAWL_SITE",
            {"url": web_site.url("/away"), "allowed-domains": ["127.0.0.1"], "max-k": 1},
            http_allowed_hosts=["127.0.0.1", "localhost"],
        )


@pytest.mark.parametrize(
    ("robots", "crawled"),
    [
        ((404, "text/plain", "not found", {}), True),  # no robots.txt: everything allowed
        ((503, "text/plain", "down", {}), False),  # unreachable: nothing allowed (RFC 9309)
    ],
)
async def test_crawl_without_a_readable_robots_txt(run, web_site, robots, crawled):
    pages = web_site.server.pages
    saved = pages["/robots.txt"]
    pages["/robots.txt"] = robots
    try:
        request = {"url": web_site.url("/private/secret"), "max-k": 1}
        if crawled:
            out = await run(COMPONENT, "TASK_CRAWL_SITE", request, **LOCAL)
            assert out == {"pages": [{"link": web_site.url("/private/secret"), "title": "Secret"}]}
        else:
            with pytest.raises(ComponentError, match=r"robots.txt of .* disallows"):
                await run(COMPONENT, "TASK_CRAWL_SITE", request, **LOCAL)
    finally:
        pages["/robots.txt"] = saved


async def test_crawl_bad_inputs_are_clear_errors(run, web_site):
    with pytest.raises(ComponentError, match="url is required"):
        await run(COMPONENT, "TASK_CRAWL_SITE", {"url": "", "max-k": 1}, **LOCAL)
    with pytest.raises(ComponentError, match="max-k must be a whole number"):
        await run(COMPONENT, "TASK_CRAWL_SITE", {"url": web_site.url("/"), "max-k": -1}, **LOCAL)
    with pytest.raises(ComponentError, match="timeout must be at most 60000"):
        await run(COMPONENT, "TASK_CRAWL_SITE", {"url": web_site.url("/"), "max-k": 1, "timeout": 70000}, **LOCAL)


async def test_crawl_time_limit_returns_the_pages_found(run, web_site):
    """Past the crawl's time limit (Instill: 120 s) the pages found so far are the answer."""
    out = await run(
        COMPONENT,
        "TASK_CRAWL_SITE",
        {"url": web_site.url("/"), "max-k": 0},
        web_crawl_time_limit=0.0,
        **LOCAL,
    )
    assert out == {"pages": []}


# --- TASK_SCRAPE_PAGES -----------------------------------------------------------------


async def scrape(run, site: Site, path: str = "/article", **options: Any) -> dict[str, Any]:
    out = await run(
        COMPONENT, "TASK_SCRAPE_PAGES", {"urls": [site.url(path)], "scrape-method": "http", **options}, **LOCAL
    )
    [page] = out["pages"]
    return page


async def test_scrape_page_outputs_text_markdown_links_and_metadata(run, web_site):
    page = await scrape(run, web_site)
    assert page["metadata"] == {
        "title": "Article",
        "description": "An article about crawling.",
        "source-url": web_site.url("/article"),
    }
    assert page["html"] == "", "HTML only when include-html is true"
    assert "Site name" in page["content"] and "Copyright 2026" in page["content"]
    assert "Crawling the web\nBreadth-first crawlers visit pages level by level.\nBuy things!\n" in page["content"]
    assert "tracking" not in page["content"] and "tracking" not in page["markdown"]
    markdown = page["markdown"]
    assert "# Crawling the web" in markdown
    assert f"[crawlers]({web_site.url('/blog/post-2')})" in markdown, "relative links become absolute"
    assert "- robots.txt\n- sitemaps" in markdown
    assert page["links-on-page"] == [
        web_site.url("/"),
        web_site.url("/about"),
        web_site.url("/blog"),
        web_site.url("/blog/post-2"),
        web_site.url("/contact"),
    ]


async def test_only_main_content_drops_header_nav_and_footer(run, web_site):
    page = await scrape(run, web_site, **{"only-main-content": True, "include-html": True})
    for boilerplate in ("Site name", "About", "Blog", "Copyright", "Contact"):
        assert boilerplate not in page["content"]
        assert boilerplate not in page["markdown"]
    assert "<nav>" not in page["html"] and "<footer>" not in page["html"] and "<main>" in page["html"]
    assert page["content"].startswith("Crawling the web")
    assert page["links-on-page"] == [web_site.url("/blog/post-2")]
    assert page["metadata"]["title"] == "Article", "the head is not boilerplate"


async def test_remove_tags_and_only_include_tags(run, web_site):
    """Selectors as jQuery writes them; remove-tags runs before only-include-tags."""
    page = await scrape(run, web_site, **{"remove-tags": [".ad", "#comments, script"]})
    assert "Buy things" not in page["content"] and "First comment" not in page["content"]
    assert "Crawling the web" in page["content"]
    page = await scrape(
        run, web_site, **{"only-include-tags": ["h1", "li"], "remove-tags": ["li:last-child"], "include-html": True}
    )
    assert page["html"] == "<h1>Crawling the web</h1>\n<li>robots.txt</li>\n"
    assert page["content"] == "Crawling the web\nrobots.txt"
    assert page["markdown"] == "# Crawling the web\n\n- robots.txt"
    with pytest.raises(ComponentError, match="remove-tags: 'div\\[' is not a valid selector"):
        await scrape(run, web_site, **{"remove-tags": ["div["]})


async def test_scrape_keeps_going_past_a_failed_url(run, web_site):
    """As Instill: a URL that fails is left out; when all fail, the reasons are the error."""
    urls = [web_site.url("/missing"), web_site.url("/to-article"), web_site.url("/about")]
    out = await run(COMPONENT, "TASK_SCRAPE_PAGES", {"urls": urls, "scrape-method": "http"}, **LOCAL)
    assert [p["metadata"]["title"] for p in out["pages"]] == ["Article", "About"]
    assert out["pages"][0]["metadata"]["source-url"] == web_site.url("/to-article"), "the URL asked for"
    with pytest.raises(ComponentError, match=r"Couldn't scrape any page: .*/missing: .* answered HTTP 404"):
        await run(COMPONENT, "TASK_SCRAPE_PAGES", {"urls": urls[:1], "scrape-method": "http"}, **LOCAL)
    with pytest.raises(ComponentError, match=r"/pdf is application/pdf, not a web page"):
        await run(COMPONENT, "TASK_SCRAPE_PAGES", {"urls": [web_site.url("/pdf")], "scrape-method": "http"}, **LOCAL)


async def test_scrape_method_chrome_simulator_is_not_supported(run, web_site):
    with pytest.raises(ComponentError, match=r"chrome-simulator.* is not supported: only http"):
        await scrape(run, web_site, **{"scrape-method": "chrome-simulator"})
    with pytest.raises(ComponentError, match="at least one URL"):
        await run(COMPONENT, "TASK_SCRAPE_PAGES", {"urls": [], "scrape-method": "http"}, **LOCAL)


async def test_outbound_guard_on_every_url_and_redirect(run, web_site):
    """A loopback page is refused unless the deployment allows it; an allowed page that
    redirects to a private address is refused at the redirect."""
    request = {"urls": [web_site.url("/article")], "scrape-method": "http"}
    with pytest.raises(ComponentError, match=r"request to 127.0.0.1 refused: loopback addresses are not allowed"):
        await run(COMPONENT, "TASK_SCRAPE_PAGES", request)
    request = {"urls": [web_site.url("/to-private")], "scrape-method": "http"}
    with pytest.raises(ComponentError, match=r"request to 10.0.0.1 refused: private addresses are not allowed"):
        await run(COMPONENT, "TASK_SCRAPE_PAGES", request, **LOCAL)
    with pytest.raises(ComponentError, match=r"request to 10.0.0.1 refused"):
        await run(COMPONENT, "TASK_SCRAPE_SITEMAP", {"url": web_site.url("/to-private")}, **LOCAL)


async def test_page_size_is_capped(run, web_site):
    with pytest.raises(ComponentError, match="larger than the 1000-byte limit"):
        await run(
            COMPONENT,
            "TASK_SCRAPE_PAGES",
            {"urls": [web_site.url("/big")], "scrape-method": "http"},
            http_max_response_bytes=1000,
            **LOCAL,
        )


async def test_page_charset_from_header_or_meta(run, web_site):
    """The header's charset wins; an unknown one leaves the page's <meta charset> to say."""
    for path in ("/latin1", "/latin1-bogus"):
        page = await scrape(run, web_site, path)
        assert page["metadata"]["title"] == "Café"
        assert page["content"] == "Ça va"


async def test_instill_scrape_fixture(run, web_site):
    """Instill's TestScrapeWebpages page (main_test.go): title "Test", no description."""
    page = await scrape(run, web_site, "/instill/page")
    assert page["metadata"] == {"title": "Test", "source-url": web_site.url("/instill/page")}
    assert page["content"] == "Test\nTest"
    assert page["markdown"] == "# Test\n\nTest"


# --- TASK_SCRAPE_SITEMAP ----------------------------------------------------------------


async def test_scrape_sitemap(run, web_site):
    expected = [
        {"loc": web_site.url("/"), "lastmod": "2026-01-02", "changefreq": "weekly", "priority": 1.0},
        {"loc": web_site.url("/about"), "lastmod": "2026-01-01T10:00:00+00:00"},
        {"loc": web_site.url("/article"), "lastmod": "", "priority": 0.5},
    ]
    out = await run(COMPONENT, "TASK_SCRAPE_SITEMAP", {"url": web_site.url("/sitemap.xml")}, **LOCAL)
    assert out == {"list": expected}
    out = await run(COMPONENT, "TASK_SCRAPE_SITEMAP", {"url": web_site.url("/sitemap.xml.gz")}, **LOCAL)
    assert out == {"list": expected}


async def test_instill_sitemap_fixture(run, web_site):
    """Instill's TestScrapeSiteMap sitemap and expected entry (main_test.go)."""
    out = await run(COMPONENT, "TASK_SCRAPE_SITEMAP", {"url": web_site.url("/instill/sitemap.xml")}, **LOCAL)
    assert out == {
        "list": [
            {
                "loc": "https://www.example.com",
                "lastmod": "2021-01-01T00:00:00Z",
                "changefreq": "daily",
                "priority": 0.8,
            }
        ]
    }


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/sitemap_index.xml", "is a sitemap index, not a sitemap: scrape one of its sitemaps \\(http://127"),
        ("/not-xml", "is not a valid XML sitemap"),
        ("/article", "is not a valid XML sitemap|is not a sitemap"),
        ("/bad-priority.xml", "the priority 'high' of https://a.example/ is not a number"),
        ("/missing", "answered HTTP 404"),
    ],
)
async def test_bad_sitemaps_are_clear_errors(run, web_site, path, message):
    with pytest.raises(ComponentError, match=message):
        await run(COMPONENT, "TASK_SCRAPE_SITEMAP", {"url": web_site.url(path)}, **LOCAL)


# --- Instill's example recipe, through the engine ----------------------------------------

# Byte for byte from instill-ai/pipeline-backend pkg/component/operator/web/v0/README.mdx,
# "Example Recipes" (commit bd2948d9bf02a9edd047100ca57c9c426b1e54b1).
INSTILL_RECIPE = """version: v1beta

variable:
  url:
    title: URL
    type: string

component:
  crawler:
    type: web
    input:
      url: ${variable.url}
      allowed-domains:
      max-k: 30
      timeout: 1000
      max-depth: 0
    condition:
    task: TASK_CRAWL_SITE

  json-filter:
    type: json
    input:
      json-value: ${crawler.output.pages}
      jq-filter: .[] | ."link"
    condition:
    task: TASK_JQ

  scraper:
    type: web
    input:
      urls: ${json-filter.output.results}
      scrape-method: http
      include-html: false
      only-main-content: true
      remove-tags:
      only-include-tags:
      timeout: 0
    condition:
    task: TASK_SCRAPE_PAGES

output:
  pages:
    title: Pages
    value: ${crawler.output.pages}
  links:
    title: Links
    value: ${json-filter.output.results}
  scraper-pages:
    title: Scraper Pages
    value: ${scraper.output.pages}
"""


async def test_instill_readme_recipe_crawls_then_scrapes(web_site):
    registry = default_registry()
    recipe = parse_recipe(INSTILL_RECIPE, registry=registry)
    result = await execute(recipe, recipe.bind_rows([{"url": web_site.url("/")}]), config=LOCAL)
    assert not result.failed, result.error_message
    [row] = result.outputs_json()
    expected = ["/", "/about", "/blog", "/article", "/new", "/contact", "/about/team", "/blog/post-1", "/blog/post-2"]
    assert [p["link"] for p in row["pages"]] == [web_site.url(path) for path in expected]
    assert row["links"] == [web_site.url(path) for path in expected]
    scraped = row["scraper-pages"]
    assert [p["metadata"]["source-url"] for p in scraped] == row["links"]
    article = scraped[expected.index("/article")]
    assert article["markdown"].startswith("# Crawling the web")
    assert "Site name" not in article["content"], "only-main-content: true"
    assert article["html"] == ""
