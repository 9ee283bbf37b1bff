"""The ``web`` operator component: crawl a site, scrape pages, read a sitemap (Instill
``web`` v0.4.0: ``TASK_CRAWL_SITE``, ``TASK_SCRAPE_PAGES``, ``TASK_SCRAPE_SITEMAP``).

Fetching is async on the event loop, through :mod:`pipelines.components.outbound`: every
URL and every redirect hop is checked by the outbound guard (internal addresses refused
unless ``PIPELINE_HTTP_ALLOWED_HOSTS`` allows them), each response body is capped and
each request bounded in time. Parsing (:mod:`._web_pages`, lxml, markdownify) is
CPU-bound and runs in a worker thread, so a large page does not stall the loop; the
engine gives an async task no task process to hand work to.

The crawler goes breadth-first from its root, honours ``robots.txt`` (RFC 9309: a
missing file allows everything, an unreachable one nothing), ``allowed-domains``,
``filter``, ``max-depth`` and ``max-k``, and stops after :data:`CRAWL_TIME_LIMIT`
seconds as Instill's does, returning the pages found so far. Only the ``http`` scrape
method exists: Instill's ``chrome-simulator`` (a headless browser) is not supported.
"""

from __future__ import annotations

import asyncio
import re
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urldefrag, urljoin, urlsplit

from pipelines.components import _web_pages as pages_
from pipelines.components import outbound
from pipelines.engine.components import ComponentDefinition, ComponentError, Task, TaskContext

#: Instill's crawl ends after 120 seconds, with the pages found by then.
CRAWL_TIME_LIMIT = 120.0
#: Instill's page count when ``max-k`` is 0 ("all pages"), and the most URLs one scrape takes.
MAX_PAGES = 8000
MAX_SCRAPE_URLS = 1000
#: The most bytes read of one page (the deployment's response limit when it is lower).
MAX_PAGE_BYTES = 10 * 1024 * 1024
#: Pages fetched at once by one task.
CONCURRENCY = 5
USER_AGENT = "Mozilla/5.0 (compatible; PipelineBot/1.0; +robots.txt)"
ROBOTS_AGENT = "PipelineBot"
_HTML_TYPES = ("text/html", "application/xhtml+xml")
_REDIRECTS = frozenset({301, 302, 303, 307, 308})

_PAGE_INFO = {
    "type": "object",
    "title": "Page Information",
    "properties": {
        "link": {
            "type": "string",
            "title": "Link",
            "description": "The full URL to which the webpage link is pointing, e.g., http://www.example.com/foo/bar.",
        },
        "title": {"type": "string", "title": "Title", "description": "The title of a webpage link in plain text."},
    },
    "required": ["link"],
}


def _list_output(name: str, title: str, description: str, items: dict[str, Any]) -> dict[str, Any]:
    """An output of one array, as each task of Instill's web component has."""
    properties = {name: {"type": "array", "title": title, "description": description, "items": items}}
    return {"type": "object", "title": "Output", "properties": properties, "required": [name]}


_TIMEOUT = {
    "type": "integer",
    "title": "Timeout",
    "default": 1000,
    "minimum": 0,
    "maximum": 60000,
}

CRAWL_INPUT = {
    "type": "object",
    "title": "Input",
    "properties": {
        "url": {
            "type": "string",
            "title": "URL",
            "description": "The root URL to scrape. All links on this page will be scraped, and all links on "
            "those pages, and so on.",
        },
        "allowed-domains": {
            "type": ["array", "null"],
            "title": "Allowed Domains",
            "items": {"type": "string"},
            "description": "A list of domains that are allowed to be scraped. If empty, all domains are allowed.",
        },
        "max-k": {
            "type": "integer",
            "title": "Max Number of Pages",
            "default": 10,
            "minimum": 0,
            "description": f"The most pages to return. 0 returns every page found within {CRAWL_TIME_LIMIT:g} "
            f"seconds (at most {MAX_PAGES}).",
        },
        "timeout": {
            **_TIMEOUT,
            "description": "The time to wait for each page, in milliseconds (0: the server's HTTP timeout).",
        },
        "max-depth": {
            "type": "integer",
            "title": "Max Depth",
            "default": 0,
            "minimum": 0,
            "description": "How deep the crawler goes from the root URL: 1 scrapes the root URL only; 0 follows "
            "links until max-k pages are found.",
        },
        "filter": {
            "type": ["object", "null"],
            "title": "Filter",
            "description": "Regular expressions on URLs: exclude-pattern is applied first, then include-pattern.",
            "properties": {
                "exclude-pattern": {
                    "type": "string",
                    "title": "Exclude Pattern",
                    "description": "When the URL is matched, the URL will not be crawled.",
                },
                "include-pattern": {
                    "type": "string",
                    "title": "Include Pattern",
                    "description": "When the URL is matched, the URL will be crawled.",
                },
            },
        },
    },
    "required": ["url", "max-k"],
}
CRAWL_OUTPUT = _list_output("pages", "Pages", "The link and title of webpages crawled by the crawler.", _PAGE_INFO)
_SELECTORS = {"type": ["array", "null"], "items": {"type": "string"}}
SCRAPE_INPUT = {
    "type": "object",
    "title": "Input",
    "properties": {
        "urls": {
            "type": "array",
            "title": "URLs",
            "items": {"type": "string"},
            "description": "The URLs to scrape the webpage contents.",
        },
        "scrape-method": {
            "type": "string",
            "title": "Scrape Method",
            "enum": ["http"],
            "default": "http",
            "description": "How pages are fetched: http. Instill's chrome-simulator (a headless browser) is not "
            "supported.",
        },
        "include-html": {
            "type": ["boolean", "null"],
            "title": "Include HTML",
            "description": "Whether to include the raw HTML of the webpage in the output.",
        },
        "only-main-content": {
            "type": ["boolean", "null"],
            "title": "Only Main Content",
            "description": "Only return the main content of the page by excluding the content of the tag of "
            "header, nav, footer.",
        },
        "remove-tags": {
            **_SELECTORS,
            "title": "Remove Tags",
            "description": "Tags, classes and ids to remove, as CSS (jQuery) selectors, e.g. `script, .ad, #footer`.",
        },
        "only-include-tags": {
            **_SELECTORS,
            "title": "Only Include Tags",
            "description": "Tags, classes and ids to keep, as CSS (jQuery) selectors. If empty, all tags are kept.",
        },
        "timeout": {
            **_TIMEOUT,
            "description": "Instill's wait for the Chrome simulator; the http method uses the server's HTTP timeout.",
        },
    },
    "required": ["urls", "scrape-method"],
}
_SCRAPED_PAGE = {
    "type": "object",
    "properties": {
        "content": {"type": "string", "title": "Content", "description": "The plain text of the page."},
        "markdown": {"type": "string", "title": "Markdown", "description": "The page as Markdown."},
        "html": {"type": "string", "title": "HTML", "description": "The scraped HTML of the page."},
        "metadata": {
            "type": "object",
            "title": "Metadata",
            "properties": {
                "title": {"type": "string", "title": "Title"},
                "description": {"type": "string", "title": "Description"},
                "source-url": {"type": "string", "title": "Source URL"},
            },
            "required": ["title", "source-url"],
        },
        "links-on-page": {"type": "array", "title": "Links on Page", "items": {"type": "string"}},
    },
    "required": ["content", "markdown"],
}
SCRAPE_OUTPUT = _list_output("pages", "Pages", "A list of page objects that have been scraped.", _SCRAPED_PAGE)
SITEMAP_INPUT = {
    "type": "object",
    "title": "Input",
    "description": "The URL contains sitemap.",
    "properties": {"url": {"type": "string", "title": "URL", "description": "The URL of the sitemap to scrape."}},
    "required": ["url"],
}
_SITEMAP_ENTRY = {
    "type": "object",
    "properties": {
        "loc": {"type": "string", "title": "URL"},
        "lastmod": {"type": "string", "title": "Last Modified"},
        "changefreq": {"type": "string", "title": "Change Frequency"},
        "priority": {"type": "number", "title": "Priority"},
    },
    "required": ["loc", "lastmod"],
}
SITEMAP_OUTPUT = _list_output("list", "List", "The list of information in a sitemap.", _SITEMAP_ENTRY)


# --- fetching -----------------------------------------------------------------------


@dataclass(frozen=True)
class Fetched:
    url: str  # after redirects
    status: int
    content_type: str
    body: bytes

    @property
    def mime(self) -> str:
        return self.content_type.split(";", 1)[0].strip().lower()

    @property
    def is_html(self) -> bool:
        return self.mime in _HTML_TYPES

    @property
    def is_page(self) -> bool:
        """HTML, text, or a server that does not say (read as HTML, as browsers sniff)."""
        return not self.mime or self.is_html or self.mime.startswith("text/")

    @property
    def charset(self) -> str | None:
        for parameter in self.content_type.split(";")[1:]:
            name, _, value = parameter.strip().partition("=")
            if name.lower() == "charset" and value:
                return value.strip('"')
        return None


@dataclass(frozen=True)
class Fetcher:
    """Guarded GETs with the deployment's limits, redirects followed hop by hop."""

    allowed_hosts: Any
    timeout: float
    max_bytes: int

    @classmethod
    def from_context(cls, ctx: TaskContext, timeout_ms: int = 0, max_bytes: int = MAX_PAGE_BYTES) -> Fetcher:
        config = ctx.config
        server_timeout = float(config.get("http_timeout") or outbound.DEFAULT_TIMEOUT)
        limit = int(config.get("http_max_response_bytes") or outbound.DEFAULT_MAX_RESPONSE_BYTES)
        return cls(
            allowed_hosts=config.get("http_allowed_hosts", ()),
            timeout=timeout_ms / 1000 if timeout_ms > 0 else server_timeout,
            max_bytes=min(limit, max_bytes),
        )

    async def get(self, url: str, follow: Callable[[str], Awaitable[str | None]] | None = None) -> Fetched:
        """GET ``url``. Before each redirect, ``follow(target)`` may name a reason not to
        go there (the answer is then an error saying so)."""
        import httpx

        current = url
        try:
            async with asyncio.timeout(self.timeout):
                for _hop in range(outbound.MAX_REDIRECTS + 1):
                    async with outbound.guarded_stream(
                        "GET",
                        current,
                        headers={"User-Agent": USER_AGENT, "Accept": "text/html,application/xhtml+xml,*/*;q=0.8"},
                        allowed_hosts=self.allowed_hosts,
                        timeout=self.timeout,
                    ) as response:
                        location = response.headers.get("location")
                        if response.status_code in _REDIRECTS and location:
                            target = urldefrag(urljoin(current, location))[0]
                            refusal = await follow(target) if follow else None
                            if refusal:
                                raise ComponentError(f"{url} redirects to {target}, which {refusal}.")
                            current = target
                            continue
                        body = await outbound.read_capped(response, self.max_bytes)
                        return Fetched(current, response.status_code, response.headers.get("content-type", ""), body)
        except TimeoutError:
            raise outbound.OutboundUnavailable(f"request to {current} timed out after {self.timeout:g} s") from None
        except httpx.HTTPError as exc:
            raise outbound.OutboundUnavailable(f"request to {current} failed: {exc or type(exc).__name__}") from None
        raise ComponentError(f"{url} exceeded {outbound.MAX_REDIRECTS} redirects.")

    async def get_ok(self, url: str, follow: Callable[[str], Awaitable[str | None]] | None = None) -> Fetched:
        fetched = await self.get(url, follow)
        if not 200 <= fetched.status < 300:
            raise ComponentError(f"{fetched.url} answered HTTP {fetched.status}.")
        return fetched


def _absolute(url: Any, field: str) -> str:
    if not isinstance(url, str) or not url.strip():
        raise ComponentError(f"{field} is required.")
    url = url.strip()
    if "://" not in url:
        url = "https://" + url  # as Instill: a bare host is an https URL
    absolute: str = urldefrag(url).url
    return absolute


def _strings(value: Any, field: str) -> list[str]:
    if value is None or value == "":
        return []
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise ComponentError(f"{field} must be a list of strings.")
    return [v.strip() for v in value if v.strip()]


def _integer(value: Any, field: str, default: int, maximum: int | None = None) -> int:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float) or int(value) != value or value < 0:
        raise ComponentError(f"{field} must be a whole number of at least 0, not {value!r}.")
    if maximum is not None and value > maximum:
        raise ComponentError(f"{field} must be at most {maximum}, not {value!r}.")
    return int(value)


# --- TASK_CRAWL_SITE -----------------------------------------------------------------


class _Robots:
    """robots.txt of each origin, read once per crawl (pages of one origin fetched at
    once wait for the one read)."""

    def __init__(self, fetcher: Fetcher) -> None:
        self.fetcher = fetcher
        self.parsers: dict[str, Any] = {}
        self.locks: dict[str, asyncio.Lock] = {}

    async def refusal(self, url: str) -> str | None:
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        async with self.locks.setdefault(origin, asyncio.Lock()):
            parser = self.parsers.get(origin)
            if parser is None:
                parser = self.parsers[origin] = await self._read(origin)
        if parser.can_fetch(ROBOTS_AGENT, url):
            return None
        return f"robots.txt of {origin} disallows"

    async def _read(self, origin: str) -> Any:
        from urllib.robotparser import RobotFileParser

        parser = RobotFileParser(origin + "/robots.txt")
        try:
            fetched = await self.fetcher.get(origin + "/robots.txt")
        except outbound.OutboundRefused:
            raise  # the guard's reason, which the page itself would meet
        except ComponentError:
            fetched = None
        if fetched is not None and 200 <= fetched.status < 300:
            parser.parse(fetched.body.decode("utf-8", errors="replace").splitlines())
        elif fetched is not None and 400 <= fetched.status < 500:
            parser.parse(["User-agent: *", "Disallow:"])  # no robots.txt: everything allowed
        else:  # unreachable: RFC 9309 says assume everything is disallowed
            parser.parse(["User-agent: *", "Disallow: /"])
        return parser


def _matches_domain(url: str, domains: list[str]) -> bool:
    if not domains:
        return True
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    return any(d.lower().rstrip(".") in (host, parts.netloc.lower()) for d in domains)


def _page_key(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}{parts.path.rstrip('/')}?{parts.query}"


@dataclass
class _Crawl:
    fetcher: Fetcher
    robots: _Robots
    domains: list[str]
    exclude: re.Pattern[str] | None
    include: re.Pattern[str] | None

    def wanted(self, url: str) -> bool:
        if self.exclude is not None and self.exclude.search(url):
            return False
        if self.include is not None and not self.include.search(url):
            return False
        return _matches_domain(url, self.domains)

    async def refusal(self, url: str) -> str | None:
        if not self.wanted(url):
            return "is outside allowed-domains or filter"
        robots = await self.robots.refusal(url)
        return f"{robots} it" if robots else None

    async def visit(self, url: str) -> tuple[str, pages_.CrawledPage]:
        refusal = await self.refusal(url)
        if refusal:
            raise ComponentError(f"{url} is not crawled: {refusal}.")
        fetched = await self.fetcher.get_ok(url, self.refusal)
        if not fetched.is_html:
            return fetched.url, pages_.CrawledPage(title="")
        page = await asyncio.to_thread(pages_.crawl_page, fetched.body, fetched.charset, fetched.url)
        return fetched.url, page


def _pattern(value: Any, field: str) -> re.Pattern[str] | None:
    if not value:
        return None
    if not isinstance(value, str):
        raise ComponentError(f"filter.{field} must be a string.")
    try:
        return re.compile(value)
    except re.error as exc:
        raise ComponentError(f"filter.{field} {value!r} is not a valid regular expression: {exc}.") from None


async def crawl_site(input: dict[str, Any], ctx: TaskContext) -> dict[str, Any]:
    root = _absolute(input.get("url"), "url")
    max_k = _integer(input.get("max-k"), "max-k", 10) or MAX_PAGES
    max_k = min(max_k, MAX_PAGES)
    max_depth = _integer(input.get("max-depth"), "max-depth", 0)
    timeout = _integer(input.get("timeout"), "timeout", 1000, maximum=60000)
    filter_ = input.get("filter") or {}
    if not isinstance(filter_, Mapping):
        raise ComponentError("filter must be an object with exclude-pattern and include-pattern.")
    fetcher = Fetcher.from_context(ctx, timeout)
    crawl = _Crawl(
        fetcher,
        _Robots(fetcher),
        _strings(input.get("allowed-domains"), "allowed-domains"),
        _pattern(filter_.get("exclude-pattern"), "exclude-pattern"),
        _pattern(filter_.get("include-pattern"), "include-pattern"),
    )
    found: list[dict[str, Any]] = []
    if not crawl.wanted(root):
        return {"pages": found}

    seen = {_page_key(root)}
    listed: set[str] = set()
    queue: deque[tuple[str, int]] = deque([(root, 1)])
    loop = asyncio.get_running_loop()
    deadline = loop.time() + float(ctx.config.get("web_crawl_time_limit", CRAWL_TIME_LIMIT))
    while queue and len(found) < max_k:
        if ctx.cancelled is not None and ctx.cancelled.is_set():
            break
        batch = [queue.popleft() for _ in range(min(CONCURRENCY, len(queue), max_k - len(found)))]
        try:
            async with asyncio.timeout_at(deadline):
                results = await asyncio.gather(*(crawl.visit(url) for url, _ in batch), return_exceptions=True)
        except TimeoutError:
            break  # Instill's time limit: the pages found so far are the answer
        for (url, depth), result in zip(batch, results, strict=True):
            if isinstance(result, BaseException):
                if url == root and isinstance(result, ComponentError):
                    raise ComponentError(f"Couldn't crawl {root}: {result}") from None
                if not isinstance(result, Exception):
                    raise result
                continue  # as Instill: a page that fails is left out
            final_url, page = result
            key = _page_key(final_url)
            if key in listed or len(found) >= max_k:
                continue
            listed.add(key)
            seen.add(key)
            found.append({"link": final_url, "title": page.title})
            if max_depth and depth >= max_depth:
                continue
            for link in page.links:
                link_key = _page_key(link)
                if link_key not in seen and crawl.wanted(link):
                    seen.add(link_key)
                    queue.append((link, depth + 1))
    return {"pages": found}


# --- TASK_SCRAPE_PAGES ---------------------------------------------------------------


async def scrape_pages(input: dict[str, Any], ctx: TaskContext) -> dict[str, Any]:
    urls = [_absolute(url, "urls") for url in _strings(input.get("urls"), "urls")]
    if not urls:
        raise ComponentError("urls is required: give at least one URL to scrape.")
    if len(urls) > MAX_SCRAPE_URLS:
        raise ComponentError(f"urls has {len(urls)} URLs; one scrape takes at most {MAX_SCRAPE_URLS}.")
    method = input.get("scrape-method") or "http"
    if method != "http":
        raise ComponentError(
            f"scrape-method {method!r} is not supported: only http is (Instill's chrome-simulator, a headless "
            "browser, is not available here)."
        )
    options = pages_.ScrapeOptions(
        include_html=bool(input.get("include-html")),
        only_main_content=bool(input.get("only-main-content")),
        remove_tags=tuple(_strings(input.get("remove-tags"), "remove-tags")),
        only_include_tags=tuple(_strings(input.get("only-include-tags"), "only-include-tags")),
    )
    # Instill's timeout is the Chrome simulator's wait; an http scrape uses the server's.
    fetcher = Fetcher.from_context(ctx)
    limit = asyncio.Semaphore(CONCURRENCY)

    async def scrape(url: str) -> dict[str, Any]:
        async with limit:
            fetched = await fetcher.get_ok(url)
        if not fetched.is_page:
            raise ComponentError(f"{fetched.url} is {fetched.mime}, not a web page.")
        return await asyncio.to_thread(pages_.scrape_page, fetched.body, fetched.charset, url, options)

    results = await asyncio.gather(*(scrape(url) for url in urls), return_exceptions=True)
    scraped: list[dict[str, Any]] = []
    failures: list[str] = []
    for url, result in zip(urls, results, strict=True):
        if isinstance(result, pages_.SelectorError):
            raise result  # the recipe's error, not the page's
        if isinstance(result, BaseException):
            if not isinstance(result, Exception):
                raise result
            failures.append(f"{url}: {result}")
        else:
            scraped.append(result)
    if not scraped:
        # As Instill, one failed URL does not fail the others; when none could be
        # scraped, the reasons are the answer.
        raise ComponentError("Couldn't scrape any page: " + "; ".join(failures))
    return {"pages": scraped}


# --- TASK_SCRAPE_SITEMAP -------------------------------------------------------------


async def scrape_sitemap(input: dict[str, Any], ctx: TaskContext) -> dict[str, Any]:
    url = _absolute(input.get("url"), "url")
    fetcher = Fetcher.from_context(ctx, max_bytes=pages_.MAX_SITEMAP_BYTES)
    fetched = await fetcher.get_ok(url)
    return {"list": await asyncio.to_thread(pages_.parse_sitemap, fetched.body, fetched.url)}


COMPONENT = ComponentDefinition(
    type="web",
    title="Web",
    kind="operator",
    description="Scrape websites.",
    version="0.4.0",
    tasks={
        "TASK_CRAWL_SITE": Task(
            name="TASK_CRAWL_SITE",
            title="Crawl Site",
            description="Follow a site's links breadth-first from a root URL and list the pages' links and titles.",
            input_schema=CRAWL_INPUT,
            output_schema=CRAWL_OUTPUT,
            run=crawl_site,
            blocking=False,
        ),
        "TASK_SCRAPE_PAGES": Task(
            name="TASK_SCRAPE_PAGES",
            title="Scrape Pages",
            description="Fetch pages and return their text, Markdown, HTML, links and metadata.",
            input_schema=SCRAPE_INPUT,
            output_schema=SCRAPE_OUTPUT,
            run=scrape_pages,
            blocking=False,
        ),
        "TASK_SCRAPE_SITEMAP": Task(
            name="TASK_SCRAPE_SITEMAP",
            title="Scrape Sitemap",
            description="List the URLs of a sitemap.xml with their last modification, change frequency and priority.",
            input_schema=SITEMAP_INPUT,
            output_schema=SITEMAP_OUTPUT,
            run=scrape_sitemap,
            blocking=False,
        ),
    },
)
