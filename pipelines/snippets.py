"""The Trigger Snippet: ready-to-run cURL, Python (Instill SDK) and JavaScript code.

:func:`render_snippets` is pure: plain data in (ids, a parsed recipe, the server's
addresses, a release or None), one :class:`Snippet` per language and mode out, filled
with realistic example values for the recipe's variables. :func:`snippet_context`
gathers that data for a page (the address the browser used, every release) and shapes
it for ``templates/pipelines/partials/trigger_snippet.html``.

Every snippet reads the token from ``$INSTILL_API_TOKEN`` and must run as copied: the
shell quoting, the multipart fields and the example files are what the server takes.
"""

from __future__ import annotations

import base64
import json
import re
import shlex
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from pipelines.engine import Recipe, Variable
from pipelines.engine.inputs import check_value
from pipelines.engine.types import FILE_TYPES, item_type

__all__ = [
    "LANGUAGES",
    "LATEST",
    "MODES",
    "TOKEN_EXPORT",
    "TOKEN_URL",
    "SampleFile",
    "Snippet",
    "build_context",
    "example_row",
    "grpc_target",
    "public_base_url",
    "render_snippets",
    "snippet_context",
]

LANGUAGES: tuple[tuple[str, str], ...] = (("curl", "cURL"), ("python", "Python"), ("javascript", "JavaScript"))
MODES: tuple[tuple[str, str], ...] = (("sync", "Sync"), ("async", "Async"), ("stream", "Stream"))
LATEST = "latest"
TOKEN_EXPORT = "export INSTILL_API_TOKEN=instill_sk_..."
TOKEN_URL = "/settings/tokens"
SDK_REQUIREMENT = "instill-sdk>=0.18,<0.19"
AUTH_HEADER = '--header "Authorization: Bearer $INSTILL_API_TOKEN"'
# Past this many characters a literal is laid out one entry per line.
WIDTH = 72


@dataclass(frozen=True, slots=True)
class SampleFile:
    """An example file: uploaded from disk by cURL, sent inline as a data URI elsewhere.

    The inline payload is small but real (a 1x1 PNG, a WAV of silence), so the
    server decodes it and a component can use it.
    """

    filename: str
    mime_type: str
    payload: bytes

    @property
    def data_uri(self) -> str:
        return f"data:{self.mime_type};base64,{base64.b64encode(self.payload).decode()}"


# One 1x1 orange pixel; 8 samples of silence at 8 kHz; an MP4 file-type box.
SAMPLE_FILES: dict[str, SampleFile] = {
    "image": SampleFile(
        "photo.png",
        "image/png",
        base64.b64decode(
            "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR42mP4P5MBAAQzAZni4lchAAAAAElFTkSuQmCC"
        ),
    ),
    "audio": SampleFile(
        "sound.wav",
        "audio/wav",
        base64.b64decode("UklGRiwAAABXQVZFZm10IBAAAAABAAEAQB8AAEAfAAABAAgAZGF0YQgAAACAgICAgICAgA=="),
    ),
    "video": SampleFile("clip.mp4", "video/mp4", b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2"),
    # Inline, a document is a short text (a PDF would fill the snippet); cURL uploads a PDF.
    "document": SampleFile("report.pdf", "text/plain", b"Quarterly report: revenue grew 12% and costs fell 3%."),
    "file": SampleFile("notes.txt", "text/plain", b"Meeting notes: ship the beta on Friday."),
}


@dataclass(frozen=True, slots=True)
class Snippet:
    """One ready-to-run snippet. ``code`` is empty when the combination does not exist
    (the SDK cannot stream a release); ``note`` then says why. ``files`` are the local
    files a cURL upload reads."""

    language: str
    version: str
    mode: str
    code: str
    note: str = ""
    files: tuple[str, ...] = ()


# --- example values -----------------------------------------------------------------

_TEXT = (
    "Solar panels turn sunlight into electricity. They lower power bills and need little upkeep.",
    "Wind turbines work day and night, wherever the wind blows steadily.",
)
# (words, two examples): matched against the words of the variable's id, then its
# title, then its description; the first category that matches wins.
_STRINGS: tuple[tuple[frozenset[str], tuple[str, str]], ...] = tuple(
    (frozenset(words.split()), examples)
    for words, examples in (
        (
            "prompt prompts question questions query instruction instructions ask message task",
            ("Summarise the benefits of solar power in two sentences.", "List three everyday uses of wind power."),
        ),
        ("email mail", ("ada@example.com", "grace@example.com")),
        ("url urls link links endpoint website site uri href", ("https://example.com/", "https://www.wikipedia.org/")),
        ("name names who user person author customer username", ("Ada Lovelace", "Grace Hopper")),
        ("language languages lang locale", ("French", "Japanese")),
        ("city location place country address destination", ("Lisbon", "Osaka")),
        (
            "topic topics subject title keyword keywords tag tags category categories label labels",
            ("solar power", "wind energy"),
        ),
        ("date day birthday deadline", ("2025-03-14", "2025-06-21")),
        ("tone style mood voice", ("friendly", "formal")),
        ("text texts content body document paragraph article passage context summary note notes review comment", _TEXT),
    )
)
_NUMBERS: tuple[tuple[frozenset[str], tuple[Any, Any]], ...] = tuple(
    (frozenset(words.split()), examples)
    for words, examples in (
        ("temperature ratio probability score threshold weight confidence", (0.7, 0.2)),
        ("year", (2025, 1969)),
        ("tokens size length limit width height max", (256, 512)),
        ("age", (36, 41)),
    )
)
_JSON = ({"name": "Ada Lovelace", "year": 1843}, {"name": "Grace Hopper", "year": 1952})
_WORD = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+")


def _words(text: str) -> set[str]:
    return {word.lower() for word in _WORD.findall(text or "")}


def _pick(variable: Variable, table: Sequence[tuple[frozenset[str], tuple[Any, Any]]], fallback: tuple[Any, Any]):
    for source in (variable.id, variable.title, variable.description):
        words = _words(source)
        for keywords, examples in table:
            if words & keywords:
                return examples
    return fallback


def _examples(variable: Variable, base: str) -> tuple[Any, Any]:
    """Two realistic values of the scalar type ``base`` for this variable."""
    if base in FILE_TYPES:
        sample = SAMPLE_FILES[base]
        return sample, sample
    if base == "string":
        described = _described_example(variable)
        if described:
            return described, described
        return _pick(variable, _STRINGS, _TEXT)
    if base in ("number", "integer"):
        examples = _pick(variable, _NUMBERS, (3, 5))
        if base == "integer" and isinstance(examples[0], float):
            return 3, 5
        return examples
    if base == "boolean":
        return True, False
    return _JSON


# "… e.g. Lisbon", "(for example: a product SKU)", "such as 'Osaka'": the example a
# description or title gives, up to the end of its phrase.
_GIVEN_EXAMPLE = re.compile(
    r"(?:\be\.g\.|\bfor (?:example|instance)\b|\bsuch as\b)[:,]?\s*[\"'“‘]?([^\"'”’.;:()\n]{1,80}?)[\"'”’]?\s*(?:$|[.;:()\n,])",
    re.I,
)


def _described_example(variable: Variable) -> str | None:
    """The example a variable's description (or title) gives, if any."""
    for text in (variable.description, variable.title):
        match = _GIVEN_EXAMPLE.search(text or "")
        if match and match.group(1).strip():
            return match.group(1).strip()
    return None


def _declared_example(variable: Variable, spec: Any) -> Any:
    """The recipe's own value for the variable (default, then example), if it fits its type."""
    candidates = []
    if variable.has_default:
        candidates.append(variable.default)
    if isinstance(spec, Mapping):
        candidates.append(spec.get("example"))
        examples = spec.get("examples")
        if isinstance(examples, list) and examples:
            candidates.append(examples[0])
    for value in candidates:
        if value is None or value == "":
            continue
        try:
            check_value(variable.type, value)
        except ValueError:
            continue
        return value
    return None


def example_value(variable: Variable, spec: Any = None) -> Any:
    """A realistic value for ``variable``: plain JSON, or :class:`SampleFile` for files.

    The recipe's default or example wins (files excepted: a default URL might not be
    reachable, the sample file always is); otherwise a value that suits the
    variable's name and type.
    """
    inner = item_type(variable.type)
    base = inner or variable.type
    if base not in FILE_TYPES:
        declared = _declared_example(variable, spec)
        if declared is not None:
            return declared
    first, second = _examples(variable, base)
    if inner is None:
        return first
    return [first] if base in FILE_TYPES else [first, second]


def example_row(recipe: Recipe | None) -> dict[str, Any]:
    """One trigger row (``data[0].variable``) with a value for every declared variable."""
    if recipe is None:
        return {}
    specs = recipe.raw.get("variable") if isinstance(recipe.raw, Mapping) else None
    specs = specs if isinstance(specs, Mapping) else {}
    ordered = sorted(
        enumerate(recipe.variables), key=lambda pair: (pair[1].ui_order is None, pair[1].ui_order or 0, pair[0])
    )
    row: dict[str, Any] = {}
    for _, variable in ordered:
        value = example_value(variable, specs.get(variable.id))
        if (
            variable.type == "string"
            and value in row.values()
            and not _declared_example(variable, specs.get(variable.id))
        ):
            # Two text variables never get the same guess: the second example, else one named after it.
            value = next(
                (
                    v
                    for v in (_examples(variable, "string")[1], f"Example {variable.title or variable.id}")
                    if v not in row.values()
                ),
                f"Example {variable.id}",
            )
        row[variable.id] = value
    return row


# --- literals -------------------------------------------------------------------------


def _inline(value: Any) -> Any:
    """The row as JSON: sample files become data URIs."""
    if isinstance(value, SampleFile):
        return value.data_uri
    if isinstance(value, list):
        return [_inline(item) for item in value]
    if isinstance(value, dict):
        return {key: _inline(item) for key, item in value.items()}
    return value


def _flat(value: Any, python: bool) -> str:
    """``value`` on one line as JSON (valid JavaScript too) or as a Python literal."""
    if python and (value is None or isinstance(value, bool)):
        return {None: "None", True: "True", False: "False"}[value]
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_flat(str(k), python)}: {_flat(v, python)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_flat(item, python) for item in value) + "]"
    # A JSON string with the characters themselves (not \u escapes) is also a valid
    # Python and JavaScript string literal.
    return json.dumps(value, ensure_ascii=False)


def _object(row: Mapping[str, Any], *, python: bool, indent: int) -> str:
    """The row as an object literal: one line when short, else one entry per line."""
    flat = _flat(dict(row), python)
    if len(flat) + indent <= WIDTH or len(row) < 2:
        return flat
    pad = " " * (indent + (4 if python else 2))
    entries = ",\n".join(f"{pad}{_flat(key, python)}: {_flat(value, python)}" for key, value in row.items())
    return "{\n" + entries + "\n" + " " * indent + "}"


def _json_body(row: Mapping[str, Any], *, indent: int = 0) -> str:
    return '{"data": [{"variable": ' + _object(_inline(row), python=False, indent=indent) + "}]}"


def sh_quote(text: str) -> str:
    """``text`` as one bash word, always in single quotes (``'`` written ``'\\''``)."""
    return "'" + text.replace("'", "'\\''") + "'"


def _sh_double(text: str) -> str:
    """``text`` escaped for the inside of bash double quotes."""
    return re.sub(r'([\\"$`])', r"\\\1", text)


# --- targets --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Target:
    namespace_id: str
    pipeline_id: str
    base_url: str
    grpc_target: str
    release_id: str | None

    @property
    def api(self) -> str:
        return self.base_url.rstrip("/") + "/v1beta"

    def trigger_url(self, mode: str) -> str:
        path = f"{self.api}/namespaces/{self.namespace_id}/pipelines/{self.pipeline_id}"
        if self.release_id:
            path += f"/releases/{self.release_id}"
        return path + ("/trigger-async" if mode == "async" else "/trigger")


# --- cURL -----------------------------------------------------------------------------


def _form_text(value: Any) -> str:
    """A multipart text field: the server reads JSON when the text is JSON, so a string
    that would parse as JSON (``42``, ``true``) is sent JSON-quoted."""
    if isinstance(value, str):
        try:
            json.loads(value)
        except ValueError:
            return value
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _form_fields(row: Mapping[str, Any]) -> tuple[list[str], list[str]]:
    """``--form-string``/``-F`` arguments for a row with files, and the files read."""
    fields: list[str] = []
    files: list[str] = []

    def upload(name: str, sample: SampleFile) -> None:
        fields.append("-F " + sh_quote(f"{name}=@{sample.filename}"))
        if sample.filename not in files:
            files.append(sample.filename)

    for key, value in row.items():
        name = f"variables[0].{key}"
        if isinstance(value, SampleFile):
            upload(name, value)
        elif isinstance(value, list) and value and isinstance(value[0], SampleFile):
            for index, item in enumerate(value):
                upload(f"{name}[{index}]", item)
        else:
            # --form-string: curl reads no "@file", "<file" or ";type=" in the value.
            fields.append("--form-string " + sh_quote(f"{name}={_form_text(value)}"))
    return fields, files


def _curl(target: _Target, row: Mapping[str, Any], mode: str) -> Snippet:
    fields, files = _form_fields(row) if _has_files(row) else ([], [])
    arguments = [] if files else ['--header "Content-Type: application/json"']
    if mode == "stream":
        arguments.append('--header "Accept: text/event-stream"')
    arguments.append(AUTH_HEADER)
    arguments += fields or ["--data " + sh_quote(_json_body(row, indent=2))]
    options = "-N " if mode == "stream" else "-s " if mode == "async" else ""
    call = f"curl {options}-X POST {shlex.quote(target.trigger_url(mode))}"
    lines = [f"# Uploads {_and(files)} from the current directory."] if files else []
    if mode != "async":
        lines += [call + " \\", *(f"  {a} \\" for a in arguments[:-1]), f"  {arguments[-1]}"]
        return Snippet("curl", target.release_id or LATEST, mode, "\n".join(lines), files=tuple(files))
    poll = f'"{_sh_double(target.api)}/$name"'
    lines += [
        f"answer=$({call} \\",
        *(f"  {a} \\" for a in arguments[:-1]),
        f"  {arguments[-1]})",
        'name=$(echo "$answer" | grep -o \'operations/[^"]*\')',
        '# Poll the operation until it is done; its "response" then holds the outputs.',
        'while [ -n "$name" ]; do',
        f"  answer=$(curl -s {poll} {AUTH_HEADER})",
        '  echo "$answer" | grep -q \'"done": *false\' || break',
        "  sleep 1",
        "done",
        'echo "$answer"',
    ]
    return Snippet("curl", target.release_id or LATEST, mode, "\n".join(lines), files=tuple(files))


def _has_files(row: Mapping[str, Any]) -> bool:
    return any(
        isinstance(value, SampleFile) or (isinstance(value, list) and any(isinstance(i, SampleFile) for i in value))
        for value in row.values()
    )


def _and(names: Sequence[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


# --- Python (Instill SDK) -------------------------------------------------------------


def _python(target: _Target, row: Mapping[str, Any], mode: str) -> Snippet:
    """The instill-sdk 0.18 client (instill/clients/pipeline.py): ``trigger`` answers a
    dict, the other calls protobuf messages (printed with ``MessageToDict``)."""
    version = target.release_id or LATEST
    if mode == "stream" and target.release_id:
        return Snippet(
            "python",
            version,
            mode,
            "",
            note=(
                "The Instill SDK streams the latest version only (trigger_with_stream has no release form). "
                f"Stream release {target.release_id} with the cURL or JavaScript snippet."
            ),
        )
    release = f"    release_id={_flat(target.release_id, True)},\n" if target.release_id else ""
    method = {
        ("sync", False): "trigger",
        ("sync", True): "trigger_release",
        ("async", False): "trigger_async",
        ("async", True): "trigger_async_release",
        ("stream", False): "trigger_with_stream",
    }[(mode, bool(target.release_id))]
    arguments = (
        f"    namespace_id={_flat(target.namespace_id, True)},\n"
        f"    pipeline_id={_flat(target.pipeline_id, True)},\n"
        f"{release}"
        f"    data=[{_object(_inline(row), python=True, indent=4)}],\n"
    )
    imports = ["import os"]
    if mode == "async":
        imports.append("import time")
    uses_proto = method != "trigger"
    head = "\n".join(imports) + "\n\n"
    if uses_proto:
        head += "from google.protobuf.json_format import MessageToDict\n"
    head += "from instill.clients import init_pipeline_client\n\n"
    head += (
        "client = init_pipeline_client(\n"
        '    api_token=os.environ["INSTILL_API_TOKEN"],\n'
        f"    url={_flat(target.grpc_target, True)},\n"
        "    secure=False,\n"
        ")\n"
    )
    if mode == "sync":
        shown = "result" if method == "trigger" else "MessageToDict(result)"
        body = f"result = client.{method}(\n{arguments})\nprint({shown})\n"
    elif mode == "async":
        body = (
            f"operation = client.{method}(\n{arguments}).operation\n"
            "# Poll the operation until it is done; its response then holds the outputs.\n"
            "while not operation.done:\n"
            "    time.sleep(1)\n"
            '    operation = client.get_operation(operation_id=operation.name.split("/")[-1]).operation\n'
            "print(MessageToDict(operation))\n"
        )
    else:
        body = (
            "# One message per update of the pipeline's outputs, as the run goes.\n"
            f"for update in client.{method}(\n{arguments}):\n"
            "    print(MessageToDict(update))\n"
        )
    code = f'# pip install "{SDK_REQUIREMENT}"\n' + head + body + "client.close()"
    return Snippet("python", version, mode, code)


# --- JavaScript (fetch) ---------------------------------------------------------------


def _javascript(target: _Target, row: Mapping[str, Any], mode: str) -> Snippet:
    headers = ['"Content-Type": "application/json"']
    if mode == "stream":
        headers.append('Accept: "text/event-stream"')
    headers.append("Authorization: `Bearer ${process.env.INSTILL_API_TOKEN}`")
    header_lines = "".join(f"  {h},\n" for h in headers)
    request = (
        f"const response = await fetch({_flat(target.trigger_url(mode), False)}, {{\n"
        '  method: "POST",\n'
        "  headers,\n"
        f"  body: JSON.stringify({_json_body(row, indent=2)}),\n"
        "});\n"
    )
    code = (
        f"// Node 18+: save as trigger.mjs and run: node trigger.mjs\nconst headers = {{\n{header_lines}}};\n" + request
    )
    if mode == "sync":
        code += "console.log(JSON.stringify(await response.json(), null, 2));"
    elif mode == "async":
        code += (
            "let answer = await response.json();\n"
            '// Poll the operation until it is done; its "response" then holds the outputs.\n'
            "while (answer.operation && !answer.operation.done) {\n"
            "  await new Promise((resolve) => setTimeout(resolve, 1000));\n"
            f"  const poll = await fetch(`{_js_template(target.api)}/${{answer.operation.name}}`, {{ headers }});\n"
            "  answer = await poll.json();\n"
            "}\n"
            "console.log(JSON.stringify(answer, null, 2));"
        )
    else:
        code += (
            "// Server-sent events (event: NAME, data: JSON), printed as they arrive.\n"
            "const reader = response.body.getReader();\n"
            "const decoder = new TextDecoder();\n"
            "for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {\n"
            "  process.stdout.write(decoder.decode(chunk.value, { stream: true }));\n"
            "}"
        )
    return Snippet("javascript", target.release_id or LATEST, mode, code)


def _js_template(text: str) -> str:
    """``text`` escaped for the inside of a JavaScript template literal."""
    return re.sub(r"([\\`]|\$(?=\{))", r"\\\1", text)


# --- public ---------------------------------------------------------------------------

_RENDERERS = {"curl": _curl, "python": _python, "javascript": _javascript}


def render_snippets(
    *,
    namespace_id: str,
    pipeline_id: str,
    recipe: Recipe | None,
    base_url: str,
    grpc_target: str,
    release_id: str | None = None,
) -> list[Snippet]:
    """Every language × mode for one version (``release_id`` None for the latest).

    ``base_url`` is the server's address as clients reach it (``https://host[:port]``);
    ``grpc_target`` is ``host:port`` of the gRPC server, as the SDK wants it.
    ``recipe`` None (or one without variables) sends an empty row.
    """
    target = _Target(namespace_id, pipeline_id, base_url.rstrip("/"), grpc_target, release_id)
    row = example_row(recipe)
    return [_RENDERERS[language](target, row, mode) for language, _ in LANGUAGES for mode, _ in MODES]


def public_base_url(request: Any, configured: str = "") -> str:
    """``configured`` (``PIPELINE_PUBLIC_URL``) if set, else scheme + host the browser used."""
    if configured:
        return configured.rstrip("/")
    return request.build_absolute_uri("/").rstrip("/")


def grpc_target(base_url: str, port: int) -> str:
    """``host:port`` for the SDK: the host of ``base_url`` with the gRPC port."""
    host = urlsplit(base_url).hostname or "localhost"
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def snippet_context(*, request: Any, pipeline: Any, release: Any = None) -> dict[str, Any]:
    """The template's ``snippet``: every snippet of the latest version and of each
    release (newest first), with ``release`` (or latest) selected."""
    from django.conf import settings

    from pipelines.errors import RecipeInvalidError
    from pipelines.services.pipelines import version_recipe

    base_url = public_base_url(request, getattr(settings, "PIPELINE_PUBLIC_URL", ""))
    target = grpc_target(base_url, int(getattr(settings, "PIPELINE_GRPC_PORT", 8081)))

    def parsed(version: Any) -> Recipe | None:
        try:
            return version_recipe(pipeline, version)
        except RecipeInvalidError:  # stored while valid; a component was removed since
            return None

    releases = list(pipeline.releases.order_by("-create_time", "-id"))
    versions = [(item.slug if item else None, parsed(item)) for item in [None, *releases]]
    snippets = [
        snippet
        for release_id, recipe in versions
        for snippet in render_snippets(
            namespace_id=pipeline.namespace.slug,
            pipeline_id=pipeline.slug,
            recipe=recipe,
            base_url=base_url,
            grpc_target=target,
            release_id=release_id,
        )
    ]
    selected = release.slug if release is not None else LATEST
    return build_context(
        dom_id=f"trigger-snippet-{pipeline.namespace.slug}-{pipeline.slug}",
        snippets=snippets,
        versions=[release_id or LATEST for release_id, _ in versions],
        selected_version=selected,
        base_url=base_url,
        grpc_target=target,
    )


def build_context(
    *,
    dom_id: str,
    snippets: Iterable[Snippet],
    versions: Sequence[str],
    selected_version: str = LATEST,
    base_url: str,
    grpc_target: str,
) -> dict[str, Any]:
    """Shape snippets for the template: languages (tabs) holding their snippets, the
    version and mode choices, each flagged ``selected``."""
    mode_labels = dict(MODES)
    by_language: dict[str, list[dict[str, Any]]] = {language: [] for language, _ in LANGUAGES}
    for snippet in snippets:
        by_language[snippet.language].append(
            {
                "dom_id": f"{dom_id}-{snippet.language}-{snippet.version}-{snippet.mode}",
                "language": snippet.language,
                "version": snippet.version,
                "mode": snippet.mode,
                "mode_label": mode_labels[snippet.mode],
                "code": snippet.code,
                "note": snippet.note,
                "files": list(snippet.files),
                "selected": snippet.version == selected_version and snippet.mode == MODES[0][0],
            }
        )
    return {
        "id": dom_id,
        "base_url": base_url,
        "grpc_target": grpc_target,
        "token_export": TOKEN_EXPORT,
        "token_url": TOKEN_URL,
        "languages": [
            {"id": language, "label": label, "selected": index == 0, "snippets": by_language[language]}
            for index, (language, label) in enumerate(LANGUAGES)
        ],
        "versions": [
            {"id": version, "label": version, "selected": version == selected_version} for version in versions
        ],
        "modes": [{"id": mode, "label": label, "selected": index == 0} for index, (mode, label) in enumerate(MODES)],
    }
