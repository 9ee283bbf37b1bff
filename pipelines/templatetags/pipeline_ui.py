"""Filters of the web pages: Markdown (sanitised), values rendered by type, statuses."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import unquote

import nh3
from django import template
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

register = template.Library()

_MARKDOWN_HINTS = re.compile(
    r"(^#{1,6}\s|^\s*[-*+]\s|^\s*\d+\.\s|```|\*\*[^*]+\*\*|\[[^\]]+\]\([^)]+\)|^>\s|^\|.+\|$)", re.M
)
_RUN_FILE = re.compile(r"^/v1beta/pipeline-runs/[0-9a-f-]{36}/files/[A-Za-z0-9._-]+$")


@register.filter
def markdown(text: str | None) -> SafeString:
    """Markdown to HTML, sanitised with nh3: no scripts, styles or event handlers survive."""
    if not text:
        return mark_safe("")
    # Here, not at the top: Django imports every tag library when it checks templates
    # (each start of serve), and Markdown is only needed when a page renders some.
    import markdown as markdown_lib

    html = markdown_lib.markdown(text, extensions=["fenced_code", "tables", "sane_lists"])
    return mark_safe(nh3.clean(html, link_rel="noopener noreferrer nofollow"))


def looks_like_markdown(text: str) -> bool:
    return bool(_MARKDOWN_HINTS.search(text))


def _file_link(href: str, label: str, mime: str = "") -> SafeString:
    return format_html(
        '<a class="file-link" href="{}" download="{}"><span aria-hidden="true">⭳</span> {}</a>{}',
        href,
        label,
        label,
        format_html(' <span class="muted">{}</span>', mime) if mime else "",
    )


#: Extensions of kept run files that a browser plays in an <audio> or <video> element.
MEDIA_EXTENSIONS = {
    **dict.fromkeys(("wav", "mp3", "ogg", "oga", "opus", "flac", "m4a", "aac", "weba"), "audio"),
    **dict.fromkeys(("mp4", "m4v", "webm", "ogv", "mov"), "video"),
}


def _player(kind: str, src: str, mime: str) -> SafeString:
    """An ``<audio>``/``<video>`` element with the browser's controls (data URIs and
    kept run files; the CSP's media-src allows both)."""
    return format_html(
        '<{} class="output-{}" controls preload="metadata" src="{}" aria-label="{} output ({})"></{}>',
        kind,
        kind,
        src,
        kind,
        mime,
        kind,
    )


def render_value(value: Any, *, depth: int = 0) -> SafeString:
    """One output (or input) value as HTML, by what it is: text, Markdown, a number,
    an image inline, audio and video as players, a file as a download link, objects and
    arrays as a JSON tree."""
    if value is None:
        return mark_safe('<span class="muted">null</span>')
    if isinstance(value, bool):
        return format_html('<code class="json-bool">{}</code>', "true" if value else "false")
    if isinstance(value, (int, float)):
        return format_html('<code class="json-number">{}</code>', value)
    if isinstance(value, str):
        return _render_string(value, depth=depth)
    if isinstance(value, list):
        if not value:
            return mark_safe('<code class="muted">[]</code>')
        items = format_html_join("", "<li>{}</li>", ((render_value(v, depth=depth + 1),) for v in value))
        return format_html(
            '<details class="json-tree" {}><summary>Array <span class="muted">({} items)</span></summary><ol start="0">{}</ol></details>',
            "open" if depth < 2 else "",
            len(value),
            items,
        )
    if isinstance(value, dict):
        if not value:
            return mark_safe('<code class="muted">{}</code>')
        rows = format_html_join(
            "",
            '<div class="json-row"><span class="json-key">{}</span>{}</div>',
            ((k, render_value(v, depth=depth + 1)) for k, v in value.items()),
        )
        return format_html(
            '<details class="json-tree" {}><summary>Object <span class="muted">({} keys)</span></summary>{}</details>',
            "open" if depth < 2 else "",
            len(value),
            rows,
        )
    return format_html("<code>{}</code>", json.dumps(value, default=str))


def _data_uri_filename(uri: str, mime: str) -> str:
    """The name a data URI carries (``;filename=report.pdf``), else one from its type."""
    for part in uri[5:].split(",", 1)[0].split(";")[1:]:
        key, _, name = part.partition("=")
        if key.strip().lower() in ("filename", "name") and name:
            return unquote(name).replace("/", "_").replace("\\", "_")
    extension = {"text/plain": "txt", "application/octet-stream": "bin"}.get(mime) or mime.rsplit("/", 1)[-1] or "bin"
    return f"file.{extension}"


def _render_string(value: str, *, depth: int) -> SafeString:
    if value.startswith("data:"):
        mime = value[5:].split(";", 1)[0].split(",", 1)[0]
        if mime.startswith("image/"):
            return format_html('<img class="output-image" src="{}" alt="image output ({})">', value, mime)
        if mime.startswith(("audio/", "video/")):
            return _player(mime.split("/", 1)[0], value, mime)
        return _file_link(value, _data_uri_filename(value, mime), mime)
    if _RUN_FILE.match(value):
        name = value.rsplit("/", 1)[-1].split("-", 1)[-1]
        kind = MEDIA_EXTENSIONS.get(name.rsplit(".", 1)[-1].lower()) if "." in name else None
        link = _file_link(value, name)
        return format_html('<div class="output-file">{}{}</div>', _player(kind, value, name), link) if kind else link
    if not is_short(value):
        if looks_like_markdown(value):
            return format_html(
                '<div class="markdown-output">{}</div><details class="raw-toggle"><summary>Raw text</summary><div class="text-output">{}</div></details>',
                markdown(value),
                value,
            )
        return format_html('<div class="text-output">{}</div>', value)
    if depth == 0:
        # Short and long text alike: one text style (static/pipelines/run_view.js renders the same).
        return format_html('<div class="text-output">{}</div>', value)
    return format_html('<span class="json-string">"{}"</span>', value)


def is_short(value: Any) -> bool:
    """A value shown on the same line as its key: a one-line string of at most 80
    characters (not a file), a number, a boolean or null. The live run view
    (static/pipelines/run_view.js ``isShort``) uses the same rule."""
    if value is None or isinstance(value, (bool, int, float)):
        return True
    return isinstance(value, str) and not value.startswith("data:") and "\n" not in value and len(value) <= 80


@register.filter
def short(value: Any) -> bool:
    return is_short(value)


def _title(recipe: Any, section: str, key: str) -> str:
    section_specs = recipe.get(section) if isinstance(recipe, dict) else None
    spec = section_specs.get(key) if isinstance(section_specs, dict) else None
    title = spec.get("title") if isinstance(spec, dict) else None
    return title if isinstance(title, str) and title else key


@register.filter
def output_title(key: str, recipe: Any) -> str:
    """An output's title in a recipe (a run's snapshot), else its key."""
    return _title(recipe, "output", key)


@register.filter
def variable_title(key: str, recipe: Any) -> str:
    """A variable's title in a recipe (a run's snapshot), else its key."""
    return _title(recipe, "variable", key)


@register.filter
def rendered(value: Any) -> SafeString:
    return render_value(value)


@register.filter
def rendered_closed(value: Any) -> SafeString:
    """As ``rendered``, but objects and arrays start closed (rendered as if nested):
    for pages that list many values, such as a run's event log."""
    return render_value(value, depth=2)


@register.filter
def duration(ms: int | None) -> str:
    if ms is None:
        return "—"
    if ms < 1000:
        return f"{ms} ms"
    if ms < 60_000:
        return f"{ms / 1000:.1f} s"
    return f"{ms // 60_000} min {ms % 60_000 // 1000} s"


STATUS_LABELS = {
    "RUN_STATUS_QUEUED": ("Queued", "pending"),
    "RUN_STATUS_PROCESSING": ("Running", "running"),
    "RUN_STATUS_COMPLETED": ("Completed", "completed"),
    "RUN_STATUS_FAILED": ("Failed", "errored"),
    "RUN_STATUS_CANCELLED": ("Cancelled", "skipped"),
    "RUN_STATUS_SKIPPED": ("Skipped", "skipped"),
    "STATUS_COMPLETED": ("Completed", "completed"),
    "STATUS_ERROR": ("Failed", "errored"),
    "STATUS_SKIPPED": ("Skipped", "skipped"),
}


@register.filter
def status_badge(status: str) -> SafeString:
    label, tone = STATUS_LABELS.get(status, (status.replace("RUN_STATUS_", "").title(), "pending"))
    return format_html('<span class="badge badge-{}">{}</span>', tone, label)


@register.filter
def source_label(source: str) -> str:
    return "Web" if source == "RUN_SOURCE_CONSOLE" else "API"


@register.filter
def pretty_json(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)
