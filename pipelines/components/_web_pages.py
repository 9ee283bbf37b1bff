"""Parsing for the ``web`` component: pages, links and sitemaps (no network here).

Pages are parsed with BeautifulSoup on lxml's HTML parser; selectors (``remove-tags``,
``only-include-tags``) are CSS selectors through soupsieve, which reads the jQuery
selector syntax Instill's goquery accepts (``script, .ad, #footer``). Markdown comes
from markdownify. Every library is imported on first use: registering the component
at start-up imports none of them.

These functions are synchronous and CPU-bound; the component calls them in a worker
thread, off the event loop (see docs/execution.md).
"""

from __future__ import annotations

import codecs
import gzip
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urldefrag, urljoin, urlsplit
from xml.etree import ElementTree

from pipelines.engine.components import ComponentError

__all__ = [
    "MAX_SITEMAP_BYTES",
    "CrawledPage",
    "ScrapeOptions",
    "SelectorError",
    "crawl_page",
    "http_links",
    "parse_sitemap",
    "scrape_page",
]

#: What ``only-main-content`` drops, as Instill defines it ("excluding the content of the
#: tag of header, nav, footer"), and the same landmarks written as ARIA roles.
BOILERPLATE = "header, nav, footer, [role=banner], [role=navigation], [role=contentinfo]"
_NOT_CONTENT = ["script", "style", "noscript", "template"]
#: Elements that start a line of ``content`` (inline ones, links and emphasis, do not).
_BLOCKS = re.compile(
    r"^(address|article|aside|blockquote|caption|dd|details|dialog|div|dl|dt|fieldset|figcaption|figure|footer"
    r"|form|h[1-6]|header|hr|li|main|nav|ol|p|pre|section|summary|table|tr|ul)$"
)
_BLANK_RUNS = re.compile(r"\n{3,}")
_SITEMAP_NS = re.compile(r"^\{[^}]*\}")
#: An uncompressed sitemap may be 50 MB (sitemaps.org); a gzipped one unpacks to no more.
MAX_SITEMAP_BYTES = 50 * 1024 * 1024


class SelectorError(ComponentError):
    """A ``remove-tags`` or ``only-include-tags`` selector that is not valid CSS: the
    recipe's mistake, whichever page it meets."""


def _soup(data: bytes | str, charset: str | None = None) -> Any:
    from bs4 import BeautifulSoup

    if isinstance(data, str):
        return BeautifulSoup(data, "lxml")
    if charset:
        try:
            codecs.lookup(charset)
        except LookupError:
            charset = None  # a charset Python does not know: let the page's <meta> say
    return BeautifulSoup(data, "lxml", from_encoding=charset or None)


def _title(soup: Any) -> str:
    tag = soup.find("title")
    return tag.get_text().strip() if tag is not None else ""


def _description(soup: Any) -> str:
    tag = soup.find("meta", attrs={"name": "description"})
    content = tag.get("content") if tag is not None else None
    return content.strip() if isinstance(content, str) else ""


def _select(soup: Any, selector: str, field_name: str) -> list[Any]:
    from soupsieve import SelectorSyntaxError

    try:
        return list(soup.select(selector))
    except (SelectorSyntaxError, ValueError) as exc:
        reason = str(exc).splitlines()[0]
        raise SelectorError(f"{field_name}: {selector!r} is not a valid selector ({reason}).") from None


def http_links(soup: Any, base_url: str) -> list[str]:
    """Absolute http(s) URLs of the page's ``<a href>`` links, without fragments, in
    page order, each once."""
    base = base_url
    base_tag = soup.find("base", href=True)
    if base_tag is not None:
        base = urljoin(base_url, str(base_tag["href"]).strip())
    links: dict[str, None] = {}
    for anchor in soup.find_all("a", href=True):
        href = str(anchor["href"]).strip()
        if not href:
            continue
        absolute = urldefrag(urljoin(base, href))[0]
        if urlsplit(absolute).scheme in ("http", "https"):
            links.setdefault(absolute, None)
    return list(links)


@dataclass
class CrawledPage:
    title: str
    links: list[str] = field(default_factory=list)


def crawl_page(data: bytes, charset: str | None, url: str) -> CrawledPage:
    """The title and outgoing links of a page met while crawling."""
    soup = _soup(data, charset)
    return CrawledPage(title=_title(soup), links=http_links(soup, url))


@dataclass(frozen=True)
class ScrapeOptions:
    include_html: bool = False
    only_main_content: bool = False
    remove_tags: tuple[str, ...] = ()
    only_include_tags: tuple[str, ...] = ()


def scrape_page(data: bytes, charset: str | None, url: str, options: ScrapeOptions) -> dict[str, Any]:
    """One page of ``TASK_SCRAPE_PAGES``, as Instill builds it: the filters run in the
    order only-main-content, remove-tags, only-include-tags; links are those left after
    the first two; title and description come from the page's head."""
    soup = _soup(data, charset)
    metadata = {"title": _title(soup)}
    description = _description(soup)
    if description:
        metadata["description"] = description
    metadata["source-url"] = url
    if options.only_main_content:
        for tag in _select(soup, BOILERPLATE, "only-main-content"):
            tag.decompose()
    for selector in options.remove_tags:
        for tag in _select(soup, selector, "remove-tags"):
            tag.decompose()
    links = http_links(soup, url)
    if options.only_include_tags:
        selected = _select(soup, ", ".join(options.only_include_tags), "only-include-tags")
        html = "".join(f"<{tag.name}>{tag.decode_contents()}</{tag.name}>\n" for tag in selected)
    else:
        html = str(soup)
    content_soup = _soup(html)
    for tag in content_soup(_NOT_CONTENT):
        tag.decompose()
    if content_soup.head is not None:
        content_soup.head.decompose()
    return {
        "content": _text(content_soup),
        "markdown": _markdown(content_soup, url),
        "html": html if options.include_html else "",
        "metadata": metadata,
        "links-on-page": links,
    }


def _text(soup: Any) -> str:
    """The page's text, a line per block (paragraph, heading, list item, table row...),
    inline elements (links, emphasis) kept within their line."""
    for tag in soup.find_all(_BLOCKS):
        tag.insert_before("\n")
        tag.insert_after("\n")
    for tag in soup.find_all("br"):
        tag.replace_with("\n")
    for tag in soup.find_all(("td", "th")):
        tag.insert_after(" ")
    lines = (" ".join(line.split()) for line in soup.get_text().splitlines())
    return "\n".join(line for line in lines if line)


def _markdown(soup: Any, url: str) -> str:
    from markdownify import markdownify

    # Links and images point where they point on the page, not at this server.
    for name, attribute in (("a", "href"), ("img", "src")):
        for tag in soup.find_all(name, attrs={attribute: True}):
            tag[attribute] = urljoin(url, str(tag[attribute]).strip())
    markdown = markdownify(str(soup), heading_style="ATX", bullets="-")
    return _BLANK_RUNS.sub("\n\n", markdown).strip()


# --- sitemaps -----------------------------------------------------------------------


def _unpacked(data: bytes) -> bytes:
    if not data.startswith(b"\x1f\x8b"):
        return data
    with gzip.GzipFile(fileobj=io.BytesIO(data)) as unzipped:
        out = unzipped.read(MAX_SITEMAP_BYTES + 1)
    if len(out) > MAX_SITEMAP_BYTES:
        raise ComponentError(f"the sitemap unpacks to more than {MAX_SITEMAP_BYTES} bytes.")
    return out


def _children(element: ElementTree.Element) -> Iterable[tuple[str, ElementTree.Element]]:
    for child in element:
        if isinstance(child.tag, str):
            yield _SITEMAP_NS.sub("", child.tag), child


def parse_sitemap(data: bytes, url: str) -> list[dict[str, Any]]:
    """The ``<url>`` entries of a sitemaps.org ``<urlset>``: ``loc`` and ``lastmod``
    always (``lastmod`` empty when absent), ``changefreq`` and ``priority`` when given."""
    try:
        # The standard library's expat: no external entities, no DTD fetching, and
        # entity-expansion bombs are refused (expat >= 2.4).
        root = ElementTree.fromstring(_unpacked(data))
    except (ElementTree.ParseError, OSError, EOFError) as exc:
        raise ComponentError(f"{url} is not a valid XML sitemap: {exc}.") from None
    kind = _SITEMAP_NS.sub("", root.tag)
    if kind == "sitemapindex":
        listed = [
            (text.text or "").strip()
            for name, entry in _children(root)
            if name == "sitemap"
            for tag, text in _children(entry)
            if tag == "loc"
        ]
        shown = ", ".join(listed[:5]) + (", …" if len(listed) > 5 else "")
        raise ComponentError(f"{url} is a sitemap index, not a sitemap: scrape one of its sitemaps ({shown}).")
    if kind != "urlset":
        raise ComponentError(f"{url} is not a sitemap: its root element is <{kind}>, not <urlset>.")
    entries: list[dict[str, Any]] = []
    for name, element in _children(root):
        if name != "url":
            continue
        fields = {tag: (child.text or "").strip() for tag, child in _children(element)}
        entry: dict[str, Any] = {"loc": fields.get("loc", ""), "lastmod": fields.get("lastmod", "")}
        if fields.get("changefreq"):
            entry["changefreq"] = fields["changefreq"]
        if fields.get("priority"):
            try:
                entry["priority"] = float(fields["priority"])
            except ValueError:
                raise ComponentError(
                    f"{url}: the priority {fields['priority']!r} of {entry['loc']} is not a number."
                ) from None
        entries.append(entry)
    return entries
