"""multipart/form-data triggers: variables[N].name fields, arrays, file parts, errors."""

from __future__ import annotations

import base64

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test.client import MULTIPART_CONTENT

URL = "/v1beta/namespaces/alice/pipelines/{}/trigger"

FILES = """\
variable:
  prompt: {type: string}
  count: {type: integer}
  tags: {type: array:string}
  doc: {type: file}
  pictures: {type: array:image}
component:
  about:
    type: json
    task: TASK_JQ
    input:
      json-value:
        prompt: ${variable.prompt}
        count: ${variable.count}
        tags: ${variable.tags}
        name: ${variable.doc:filename}
        type: ${variable.doc:content-type}
        size: ${variable.doc:file-size}
        pictures: ${variable.pictures:length}
      jq-filter: "."
output:
  about: {value: "${about.output.results[0]}"}
  doc: {value: "${variable.doc}"}
"""

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


@pytest.fixture
def files_pipeline(alice, make_pipeline):
    return make_pipeline(alice, "files", raw_recipe=FILES)


def post_form(api, data, pipeline="files", path=URL):
    return api.post(path.format(pipeline), data, content_type=MULTIPART_CONTENT)


def test_form_fields_and_files(api, files_pipeline):
    """Text parsed as JSON with a plain-string fallback, array items, a file and repeated images."""
    data = {
        "variables[0].prompt": "describe this",  # not JSON: taken as a plain string
        "variables[0].count": "3",
        "variables[0].tags[0]": '"a"',
        "variables[0].tags[1]": "b",
        "variables[0].doc": SimpleUploadedFile("notes.txt", b"hello file", content_type="text/plain"),
        "variables[0].pictures": [
            SimpleUploadedFile("a.png", PNG, content_type="image/png"),
            SimpleUploadedFile("b.png", PNG, content_type="application/octet-stream"),
        ],
    }
    response = post_form(api, data)
    assert response.status_code == 200, response.json()
    out = response.json()["outputs"][0]
    assert out["about"] == {
        "prompt": "describe this",
        "count": 3,
        "tags": ["a", "b"],
        "name": "notes.txt",
        "type": "text/plain",
        "size": 10,
        "pictures": 2,
    }
    assert out["doc"].startswith("data:text/plain;")
    assert out["doc"].endswith(";base64," + base64.b64encode(b"hello file").decode())


def test_several_rows_and_inputs_form(api, hello):
    data = {"inputs[0].prompt": '"one"', "inputs[1].prompt": "two"}
    response = post_form(api, data, pipeline="hello")
    assert response.json()["outputs"] == [{"answer": "Hello one"}, {"answer": "Hello two"}]


@pytest.mark.parametrize(
    "data, word",
    [
        ({"prompt": "x"}, "prompt"),
        ({"variables[0]prompt": "x"}, "variables[0]prompt"),
        ({"variables[a].prompt": "x"}, "variables[a].prompt"),
        ({"variables[1].prompt": "x"}, "row 0"),
        ({"variables[40].prompt": "x"}, "32"),
        ({"variables[0].tags[1]": "x"}, "item 0"),
        ({"variables[0].tags": "x", "variables[0].tags[0]": "y"}, "mixes"),
        ({"variables[0].prompt": "x", "inputs[0].prompt": "y"}, "not both"),
        ({"variables[0].count": "many"}, "count"),
    ],
)
def test_malformed_forms_name_the_field(api, files_pipeline, data, word):
    response = post_form(api, data)
    assert response.status_code == 400, response.json()
    assert response.json()["code"] == 3 and word in response.json()["message"]


def test_file_of_wrong_declared_type(api, alice, make_pipeline):
    raw = "variable:\n  photo: {type: image}\noutput:\n  out: {value: '${variable.photo:content-type}'}\n"
    make_pipeline(alice, "photo", raw_recipe=raw)
    pdf = SimpleUploadedFile("doc.pdf", b"%PDF-1.4\n%%EOF\n", content_type="application/pdf")
    response = post_form(api, {"variables[0].photo": pdf}, pipeline="photo")
    assert response.status_code == 400
    assert "photo" in response.json()["message"] and "application/pdf" in response.json()["message"]
    good = SimpleUploadedFile("p.png", PNG, content_type="image/png")
    assert post_form(api, {"variables[0].photo": good}, pipeline="photo").json()["outputs"] == [{"out": "image/png"}]


def test_multipart_async_trigger(api, hello, transactional_db):
    from tests.api.test_async import poll

    response = post_form(
        api,
        {"variables[0].prompt": "form"},
        pipeline="hello",
        path="/v1beta/namespaces/alice/pipelines/{}/trigger-async",
    )
    operation = response.json()["operation"]
    assert poll(api, operation["name"])["response"]["outputs"] == [{"answer": "Hello form"}]


def test_file_variable_from_url(api, alice, make_pipeline, file_server, settings):
    """An http(s) URL for a file variable is fetched (through the outbound guard) at trigger time."""
    raw = "variable:\n  photo: {type: image}\noutput:\n  type: {value: '${variable.photo:content-type}'}\n  size: {value: '${variable.photo:file-size}'}\n"
    make_pipeline(alice, "photo", raw_recipe=raw)
    body = {"data": [{"variable": {"photo": f"{file_server}/pixel.png"}}]}
    refused = api.post(URL.format("photo"), body)
    assert (
        refused.status_code == 400 and "photo" in refused.json()["message"] and "loopback" in refused.json()["message"]
    )
    settings.PIPELINE_HTTP_ALLOWED_HOSTS = ["127.0.0.1"]
    assert api.post(URL.format("photo"), body).json()["outputs"] == [{"type": "image/png", "size": len(PNG)}]
    wrong = api.post(URL.format("photo"), {"data": [{"variable": {"photo": f"{file_server}/doc.pdf"}}]})
    assert wrong.status_code == 400 and "application/pdf" in wrong.json()["message"]
    missing = api.post(URL.format("photo"), {"data": [{"variable": {"photo": f"{file_server}/nope"}}]})
    assert missing.status_code == 400 and "404" in missing.json()["message"]


@pytest.fixture
def file_server():
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    files = {"/pixel.png": ("image/png", PNG), "/doc.pdf": ("application/pdf", b"%PDF-1.4\n%%EOF\n")}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path not in files:
                self.send_error(404)
                return
            mime, body = files[self.path]
            self.send_response(200)
            self.send_header("Content-Type", mime)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
