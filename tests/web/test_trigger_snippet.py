"""The Trigger Snippet renderer (pipelines/snippets.py) and its template partial.

The renderer is pure, so most of this runs without HTTP or a database: each snippet's
request is read back the way bash, Python and Node read it, and compared with the
values the recipe's variables should get.
"""

from __future__ import annotations

import ast
import io
import json
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.template.loader import render_to_string
from django.templatetags.static import static
from django.test import RequestFactory
from PIL import Image

from pipelines.components import default_registry
from pipelines.demo import CHUNK_AND_JQ, HELLO
from pipelines.engine import File, parse_recipe
from pipelines.services.releases import release_create
from pipelines.snippets import (
    LANGUAGES,
    MODES,
    SAMPLE_FILES,
    TOKEN_EXPORT,
    build_context,
    example_row,
    grpc_target,
    render_snippets,
    snippet_context,
)

ROOT = Path(__file__).resolve().parents[2]
BASE = "http://127.0.0.1:8080"
TARGET = "127.0.0.1:8081"
TRICKY = 'It\'s "done" — ünïcødé ✓ $HOME `date` !x \\n\nsecond line\t;type=text/plain @photo.png'

EVERY_TYPE = """\
variable:
  prompt: {type: string, title: Prompt}
  who: {type: string, title: Customer name}
  count: {type: integer}
  temperature: {type: number}
  enabled: {type: boolean}
  settings: {type: json}
  tags: {type: "array:string"}
  scores: {type: "array:number"}
  photo: {type: image}
  photos: {type: "array:image"}
  report: {type: document}
  sound: {type: audio}
  clip: {type: video}
  attachment: {type: file}
output:
  width: {value: "${variable.photo:width}"}
"""

TRICKY_RECIPE = """\
variable:
  note:
    type: string
    default: %s
  digits: {type: string, example: "42"}
output:
  note: {value: "${variable.note}"}
""" % json.dumps(TRICKY)  # noqa: UP031 - YAML's braces read plainer than doubled ones

NO_PLACEHOLDERS = ("your value here", "your_value", "placeholder", "todo", "lorem", "<value>", "xxx", "changeme")


def parse(text: str):
    return parse_recipe(text, registry=default_registry())


def snippets_of(recipe_text: str = HELLO, *, release_id: str | None = None, base_url: str = BASE) -> dict:
    snippets = render_snippets(
        namespace_id="admin",
        pipeline_id="hello",
        recipe=parse(recipe_text),
        base_url=base_url,
        grpc_target=TARGET,
        release_id=release_id,
    )
    return {(s.language, s.mode): s for s in snippets}


def inline(row: dict) -> dict:
    """The row with sample files as data URIs (what JSON bodies carry)."""
    return json.loads(json.dumps(row, default=lambda value: value.data_uri))


# --- reading snippets back ------------------------------------------------------------


def curl_arguments(code: str, cwd: Path) -> list[list[str]]:
    """The arguments of each curl call ``code`` makes, as bash parses them.

    ``curl`` is a shell function here that records its arguments and answers like a
    finished operation, so the async poll loop ends.
    """
    script = (
        "curl() { printf '%s\\0' \"$@\" >> calls; printf '\\n' >> calls; "
        'echo \'{"operation": {"name": "operations/1", "done": true}}\'; }\n' + code
    )
    result = subprocess.run(
        ["bash", "-c", script],
        cwd=cwd,
        env={"PATH": "/usr/bin:/bin", "INSTILL_API_TOKEN": "instill_sk_test"},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    calls = (cwd / "calls").read_text().split("\0\n")
    return [call.split("\0") for call in calls if call]


def option_values(arguments: list[str], option: str) -> list[str]:
    return [arguments[i + 1] for i, value in enumerate(arguments) if value == option]


def python_call(code: str) -> dict:
    """Keyword arguments of the SDK call in a Python snippet, evaluated as literals."""
    tree = ast.parse(code)
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr.startswith("trigger"):
            return {"method": node.func.attr, **{k.arg: ast.literal_eval(k.value) for k in node.keywords}}
    raise AssertionError("no client.trigger* call")


def javascript_requests(code: str, tmp_path: Path) -> list[dict]:
    """The fetch calls a JavaScript snippet makes, run by Node with fetch replaced."""
    stub = (
        "const calls = [];\n"
        "globalThis.fetch = async (url, init = {}) => {\n"
        "  calls.push({ url, ...init });\n"
        "  const done = { operation: { name: 'operations/1', done: calls.length > 1 } };\n"
        "  const chunks = [new TextEncoder().encode('event: PIPELINE_STATUS_UPDATED\\n\\n')];\n"
        "  return { json: async () => done, body: { getReader: () => ({ read: async () => "
        "chunks.length ? { done: false, value: chunks.shift() } : { done: true } }) } };\n"
        "};\n"
        "process.on('exit', () => console.error(JSON.stringify(calls)));\n"
    )
    path = tmp_path / "snippet.mjs"
    path.write_text(stub + code)
    result = subprocess.run(
        ["node", str(path)],
        env={"PATH": "/usr/bin:/bin", "INSTILL_API_TOKEN": "instill_sk_test"},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stderr.strip().splitlines()[-1])


class _Page(HTMLParser):
    """Collects the text of every ``<code id>`` (what a Copy button copies), the
    attributes of every element, and the text outside of ``<code>``."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.codes: dict[str, str] = {}
        self.elements: list[tuple[str, dict[str, str]]] = []
        self.outside: list[str] = []
        self._code: str | None = None

    def handle_starttag(self, tag, attrs):
        attributes = {k: v or "" for k, v in attrs}
        self.elements.append((tag, attributes))
        if tag == "code" and "id" in attributes:
            self._code = attributes["id"]
            self.codes[self._code] = ""

    def handle_endtag(self, tag):
        if tag == "code":
            self._code = None

    def handle_data(self, data):
        if self._code is not None:
            self.codes[self._code] += data
        else:
            self.outside.append(data)


def read_page(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    return page


def page_snippets(html: str) -> dict[str, str]:
    """``{code id: text}``: each snippet exactly as the page's Copy button copies it."""
    return read_page(html).codes


def render_page(snippets, versions=("latest",), *, dom_id: str = "trigger-snippet-admin-hello") -> str:
    context = build_context(
        dom_id=dom_id, snippets=snippets, versions=list(versions), base_url=BASE, grpc_target=TARGET
    )
    return render_to_string("pipelines/partials/trigger_snippet.html", {"snippet": context})


# --- every language × mode × version ---------------------------------------------------


@pytest.mark.parametrize("release_id", [None, "v1.2.0"])
def test_every_language_and_mode_for_latest_and_a_release(release_id):
    """Each of cURL, Python and JavaScript has a sync, async and stream snippet for the
    latest version and for a release, calling that version's path."""
    snippets = snippets_of(release_id=release_id)
    assert set(snippets) == {(language, mode) for language, _ in LANGUAGES for mode, _ in MODES}
    path = "/v1beta/namespaces/admin/pipelines/hello" + (f"/releases/{release_id}" if release_id else "")
    for (language, mode), snippet in snippets.items():
        assert snippet.version == (release_id or "latest")
        if language == "python":
            continue
        trigger = f"{BASE}{path}/trigger-async" if mode == "async" else f"{BASE}{path}/trigger"
        assert trigger in snippet.code, (language, mode)


def test_python_uses_the_sdk_calls_of_each_version_and_mode():
    """The Python tab is the instill-sdk 0.18 client: init_pipeline_client with the gRPC
    host:port and secure=False, then trigger / trigger_release / trigger_async(+_release)
    with get_operation / trigger_with_stream."""
    expected = {
        (None, "sync"): "trigger",
        (None, "async"): "trigger_async",
        (None, "stream"): "trigger_with_stream",
        ("v1.0.0", "sync"): "trigger_release",
        ("v1.0.0", "async"): "trigger_async_release",
    }
    for (release_id, mode), method in expected.items():
        code = snippets_of(release_id=release_id)["python", mode].code
        compile(code, "snippet.py", "exec")
        assert "from instill.clients import init_pipeline_client" in code
        assert f'url="{TARGET}",' in code and "secure=False" in code
        assert 'api_token=os.environ["INSTILL_API_TOKEN"]' in code
        call = python_call(code)
        assert call["method"] == method
        assert call["namespace_id"] == "admin" and call["pipeline_id"] == "hello"
        assert call.get("release_id") == release_id
        assert call["data"] == [{"prompt": "Summarise the benefits of solar power in two sentences."}]
        if mode == "async":
            assert "client.get_operation(operation_id=" in code
        assert code.rstrip().endswith("client.close()")


def test_python_cannot_stream_a_release_and_says_so():
    """The SDK has no streaming call for releases: no code, a note pointing to the other tabs."""
    snippet = snippets_of(release_id="v1.0.0")["python", "stream"]
    assert snippet.code == ""
    assert "v1.0.0" in snippet.note and "cURL" in snippet.note


def test_curl_modes():
    """Sync posts JSON; async keeps the operation and polls /v1beta/operations/<id> until
    done; stream adds -N and Accept: text/event-stream. Every call sends the token."""
    snippets = snippets_of()
    assert "-N " in snippets["curl", "stream"].code
    assert '--header "Accept: text/event-stream"' in snippets["curl", "stream"].code
    assert "text/event-stream" not in snippets["curl", "sync"].code
    poll = snippets["curl", "async"].code
    assert f'curl -s "{BASE}/v1beta/$name"' in poll and "sleep 1" in poll
    for snippet in snippets.values():
        if snippet.language == "curl":
            assert snippet.code.count('"Authorization: Bearer $INSTILL_API_TOKEN"') == (
                2 if snippet.mode == "async" else 1
            )


def test_curl_arguments_as_bash_reads_them(tmp_path):
    """Run through bash, the async snippet triggers, then polls the operation it got."""
    trigger, poll = curl_arguments(snippets_of()["curl", "async"].code, tmp_path)
    assert trigger[:3] == ["-s", "-X", "POST"]
    assert f"{BASE}/v1beta/namespaces/admin/pipelines/hello/trigger-async" in trigger
    assert "Authorization: Bearer instill_sk_test" in option_values(trigger, "--header")
    assert json.loads(option_values(trigger, "--data")[0]) == {
        "data": [{"variable": {"prompt": "Summarise the benefits of solar power in two sentences."}}]
    }
    assert poll[:2] == ["-s", f"{BASE}/v1beta/operations/1"]


def test_javascript_requests_as_node_makes_them(tmp_path):
    """Node runs each JavaScript snippet as written (fetch stubbed): the body is the
    example row, the token comes from the environment, async polls the operation."""
    snippets = snippets_of(release_id="v1.0.0")
    for mode in ("sync", "async", "stream"):
        calls = javascript_requests(snippets["javascript", mode].code, tmp_path)
        first = calls[0]
        assert first["method"] == "POST"
        assert first["headers"]["Authorization"] == "Bearer instill_sk_test"
        assert json.loads(first["body"]) == {
            "data": [{"variable": {"prompt": "Summarise the benefits of solar power in two sentences."}}]
        }
        assert (first["headers"].get("Accept") == "text/event-stream") == (mode == "stream")
        if mode == "async":
            assert first["url"].endswith("/releases/v1.0.0/trigger-async")
            assert calls[1]["url"] == f"{BASE}/v1beta/operations/1" and "method" not in calls[1]
        else:
            assert len(calls) == 1 and first["url"].endswith("/releases/v1.0.0/trigger")


# --- example values -------------------------------------------------------------------


def test_example_values_per_type_are_realistic_and_valid():
    """Every type gets a plausible value that the server accepts as that type."""
    recipe = parse(EVERY_TYPE)
    row = example_row(recipe)
    assert row["prompt"] == "Summarise the benefits of solar power in two sentences."
    assert row["who"] == "Ada Lovelace"
    assert row["count"] == 3 and row["temperature"] == 0.7 and row["enabled"] is True
    assert isinstance(row["settings"], dict) and row["settings"]
    assert row["tags"] == ["solar power", "wind energy"]
    assert len(row["scores"]) == 2 and all(isinstance(x, (int, float)) for x in row["scores"])
    assert row["photo"] == SAMPLE_FILES["image"] and row["photos"] == [SAMPLE_FILES["image"]]
    assert {row[k].filename for k in ("report", "sound", "clip", "attachment")} == {
        "report.pdf",
        "sound.wav",
        "clip.mp4",
        "notes.txt",
    }
    bound = recipe.bind_rows([inline(row)])[0]  # the server's own type checks
    assert isinstance(bound["photo"], File) and bound["photo"].mime_type == "image/png"
    assert Image.open(io.BytesIO(bound["photo"].read())).size == (1, 1)
    assert bound["sound"].mime_type == "audio/wav" and bound["report"].mime_type == "text/plain"


def test_defaults_and_examples_win_over_guesses():
    """A recipe's default (or example) is the value shown."""
    row = example_row(parse(CHUNK_AND_JQ))
    assert row == {"text": row["text"], "chunk-size": 200, "mode": "summary"}
    assert row["text"].startswith("Solar panels")
    assert example_row(parse(TRICKY_RECIPE)) == {"note": TRICKY, "digits": "42"}


def test_no_variables_sends_an_empty_row():
    snippets = render_snippets(
        namespace_id="admin", pipeline_id="empty", recipe=None, base_url=BASE, grpc_target=TARGET
    )
    assert all('{"data": [{"variable": {}}]}' in s.code for s in snippets if s.language != "python")


# --- quoting --------------------------------------------------------------------------


def test_tricky_strings_survive_bash_python_and_node(tmp_path):
    """Quotes, a newline, a tab, backslashes, $, backticks, ! and unicode reach the server
    unchanged from every language: bash single quotes, Python and JS literals."""
    snippets = snippets_of(TRICKY_RECIPE)
    expected = {"note": TRICKY, "digits": "42"}
    (call,) = curl_arguments(snippets["curl", "sync"].code, tmp_path)
    assert json.loads(option_values(call, "--data")[0])["data"][0]["variable"] == expected
    assert python_call(snippets["python", "sync"].code)["data"] == [expected]
    (request,) = javascript_requests(snippets["javascript", "sync"].code, tmp_path)
    assert json.loads(request["body"])["data"][0]["variable"] == expected


def test_tricky_strings_survive_an_interactive_paste(tmp_path):
    """Pasted into an interactive bash (history expansion on), the body is intact."""
    code = snippets_of(TRICKY_RECIPE)["curl", "sync"].code
    # Piped stdin is no terminal, so history is off unless switched on as in a terminal.
    script = "set -o history -H\ncurl() { printf '%s\\0' \"$@\" > calls; }\n" + code + "\nexit\n"
    subprocess.run(
        ["bash", "--norc", "--noprofile", "-i"],
        input=script,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "INSTILL_API_TOKEN": "t"},
        timeout=30,
    )
    call = (tmp_path / "calls").read_text().split("\0")
    assert json.loads(option_values(call, "--data")[0])["data"][0]["variable"]["note"] == TRICKY


def test_multipart_for_file_variables(tmp_path):
    """With a file variable, cURL sends multipart: -F @file for files, --form-string for
    the rest (JSON text where the server would read plain text as JSON)."""
    snippet = snippets_of(EVERY_TYPE)["curl", "sync"]
    assert snippet.files == ("photo.png", "report.pdf", "sound.wav", "clip.mp4", "notes.txt")
    assert "-F 'variables[0].photo=@photo.png'" in snippet.code
    assert "-F 'variables[0].photos[0]=@photo.png'" in snippet.code
    assert "Content-Type: application/json" not in snippet.code
    (call,) = curl_arguments(snippet.code, tmp_path)
    fields = dict(value.split("=", 1) for value in option_values(call, "--form-string"))
    assert fields["variables[0].prompt"] == "Summarise the benefits of solar power in two sentences."
    assert json.loads(fields["variables[0].tags"]) == ["solar power", "wind energy"]
    assert json.loads(fields["variables[0].count"]) == 3
    with_photo = TRICKY_RECIPE.replace("output:", "  photo: {type: image}\noutput:")
    (tmp_path / "tricky").mkdir()
    (call,) = curl_arguments(snippets_of(with_photo)["curl", "sync"].code, tmp_path / "tricky")
    tricky = dict(value.split("=", 1) for value in option_values(call, "--form-string"))
    assert tricky["variables[0].note"] == TRICKY  # not JSON: sent as it is
    assert tricky["variables[0].digits"] == '"42"'  # would read as the number 42


def test_python_and_javascript_inline_files_as_data_uris():
    snippets = snippets_of(EVERY_TYPE)
    data = python_call(snippets["python", "sync"].code)["data"][0]
    assert data["photo"].startswith("data:image/png;base64,") and data["photos"] == [data["photo"]]
    assert '"photo": "data:image/png;base64,' in snippets["javascript", "sync"].code


# --- addresses ------------------------------------------------------------------------


def test_grpc_target_is_the_base_host_with_the_grpc_port():
    assert grpc_target("https://pipeline.example.com", 8081) == "pipeline.example.com:8081"
    assert grpc_target("http://127.0.0.1:8080/", 9000) == "127.0.0.1:9000"
    assert grpc_target("http://[::1]:8080", 8081) == "[::1]:8081"


@pytest.mark.django_db
def test_context_uses_the_host_the_browser_used(alice, make_pipeline, settings):
    settings.PIPELINE_PUBLIC_URL = ""
    settings.PIPELINE_GRPC_PORT = 8081
    pipeline = make_pipeline(alice)
    request = RequestFactory().get("/", secure=True, HTTP_HOST="testserver:8443")
    context = snippet_context(request=request, pipeline=pipeline)
    assert context["base_url"] == "https://testserver:8443"
    assert context["grpc_target"] == "testserver:8081"
    codes = [s["code"] for language in context["languages"] for s in language["snippets"]]
    assert any("https://testserver:8443/v1beta/namespaces/alice/pipelines/hello/trigger" in c for c in codes)
    assert any('url="testserver:8081"' in c for c in codes)


@pytest.mark.django_db
def test_context_prefers_pipeline_public_url(alice, make_pipeline, settings):
    settings.PIPELINE_PUBLIC_URL = "https://pipeline.example.com/"
    settings.PIPELINE_GRPC_PORT = 9443
    pipeline = make_pipeline(alice)
    context = snippet_context(request=RequestFactory().get("/"), pipeline=pipeline)
    assert context["base_url"] == "https://pipeline.example.com"
    assert context["grpc_target"] == "pipeline.example.com:9443"
    codes = "\n".join(s["code"] for language in context["languages"] for s in language["snippets"])
    assert "https://pipeline.example.com/v1beta/namespaces/alice/pipelines/hello/trigger" in codes
    assert "testserver" not in codes


@pytest.mark.django_db
def test_context_offers_latest_then_releases_newest_first(alice, make_pipeline, settings):
    """Each release's snippets use that release's own recipe; a chosen release is selected."""
    settings.PIPELINE_PUBLIC_URL = ""
    pipeline = make_pipeline(alice)
    release_create(pipeline=pipeline, release_id="v1.0.0")
    newest = release_create(pipeline=pipeline, release_id="v1.1.0")
    context = snippet_context(request=RequestFactory().get("/"), pipeline=pipeline, release=newest)
    assert [v["id"] for v in context["versions"]] == ["latest", "v1.1.0", "v1.0.0"]
    assert [v["id"] for v in context["versions"] if v["selected"]] == ["v1.1.0"]
    curl = context["languages"][0]["snippets"]
    assert len(curl) == 9
    assert [s["version"] for s in curl if s["selected"]] == ["v1.1.0"]
    assert all(f"/releases/{s['version']}/trigger" in s["code"] for s in curl if s["version"] != "latest")


# --- the partial ----------------------------------------------------------------------


def test_partial_renders_tabs_selectors_and_copy_buttons():
    """Tabs with roles and aria, a labelled version select and mode radios, one Copy
    button per snippet (plus the export line), the token line first, a token link."""
    snippets = [*snippets_of().values(), *snippets_of(release_id="v1.0.0").values()]
    html = render_page(snippets, versions=("latest", "v1.0.0"))
    page = read_page(html)
    tabs = [a for tag, a in page.elements if a.get("role") == "tab"]
    panels = {a["id"]: a for tag, a in page.elements if a.get("role") == "tabpanel"}
    assert [t["aria-selected"] for t in tabs] == ["true", "false", "false"]
    assert [t["tabindex"] for t in tabs] == ["0", "-1", "-1"]
    assert all(t["aria-controls"] in panels and panels[t["aria-controls"]]["aria-labelledby"] == t["id"] for t in tabs)
    assert next(a for tag, a in page.elements if a.get("role") == "tablist")["aria-label"] == "Language"
    assert [a["value"] for tag, a in page.elements if "data-snippet-mode" in a] == ["sync", "async", "stream"]
    assert [a["value"] for tag, a in page.elements if tag == "option"] == ["latest", "v1.0.0"]
    buttons = [a for tag, a in page.elements if tag == "button" and "data-snippet-copy" in a]
    with_code = [s for s in snippets if s.code]
    assert len(buttons) == len(with_code) + 1 == 18
    assert all(b["data-snippet-copy"] in page.codes and b["aria-label"].startswith("Copy") for b in buttons)
    assert all(b["type"] == "button" for b in buttons)
    assert html.index(TOKEN_EXPORT) < html.index('role="tablist"')
    assert page.codes["trigger-snippet-admin-hello-export"] == TOKEN_EXPORT
    assert any(tag == "a" and a.get("href") == "/settings/tokens" for tag, a in page.elements)
    shown = [a for tag, a in page.elements if "data-snippet-item" in a and "hidden" not in a]
    assert [(a["data-version"], a["data-mode"]) for a in shown] == [("latest", "sync")] * 3
    assert f'src="{static("pipelines/snippets.js")}"' in html and static("pipelines/snippets.css") in html


def test_copied_text_is_exactly_the_snippet():
    """HTML escaping is undone by the browser: a Copy copies the snippet unchanged."""
    snippets = list(snippets_of(TRICKY_RECIPE).values())
    codes = page_snippets(render_page(snippets))
    for snippet in snippets:
        if snippet.code:
            assert (
                codes[f"trigger-snippet-admin-hello-{snippet.language}-{snippet.version}-{snippet.mode}"]
                == snippet.code
            )


def test_page_has_no_placeholder_text():
    snippets = [*snippets_of(EVERY_TYPE).values(), *snippets_of(EVERY_TYPE, release_id="v2.0.0").values()]
    text = render_page(snippets, versions=("latest", "v2.0.0")).lower()
    for phrase in NO_PLACEHOLDERS:
        assert phrase not in text, phrase


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_script_is_a_valid_module(tmp_path):
    """snippets.js parses as an ES module and exports its initialisers."""
    module = tmp_path / "snippets.mjs"
    module.write_text((ROOT / "static/pipelines/snippets.js").read_text())
    result = subprocess.run(["node", "--check", str(module)], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    source = module.read_text()
    assert "export function initSnippets" in source and "export function initSnippet(" in source
    assert "navigator.clipboard" in source and 'execCommand("copy")' in source


def test_sample_files_are_real():
    """The inline samples decode as what they claim to be."""
    assert Image.open(io.BytesIO(SAMPLE_FILES["image"].payload)).format == "PNG"
    assert SAMPLE_FILES["audio"].payload[:4] == b"RIFF" and SAMPLE_FILES["audio"].payload[8:12] == b"WAVE"
