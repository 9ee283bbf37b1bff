"""``setup.base-url`` of the openai component cannot reach other paths of an allowed
model server: path tricks are refused at validation and at run time, and the outbound
guard admits only the component's own API paths on an allowed host."""

from __future__ import annotations

import re
from typing import Any

import pytest

from pipelines.components import default_registry, outbound
from pipelines.components.openai import API_PATHS, COMPONENT
from pipelines.engine import validate_recipe
from pipelines.engine.components import ComponentError, TaskContext

TRICKS = [
    "{root}/api/pull#",
    "{root}/api/pull?",
    "{root}/api/pull?x=",
    "{root}/v1/../api/pull#",
    "{root}/api/pull%23",
    "{root}/api%2fpull/",
    "{root}/v1/%2e%2e/api",
    "{root}/v1\\..\\api",
    "http://user:pass@{host}/v1",
]


def root_of(fake) -> str:
    return fake.base_url.removesuffix("/v1")


def allowed(fake) -> dict[str, Any]:
    """The fake's host:port as an allowed model host (PIPELINE_LLM_ALLOWED_HOSTS)."""
    return {"llm_allowed_hosts": [root_of(fake).removeprefix("http://")], "openai_backoff_seconds": 0.01}


def trick_urls(fake) -> list[str]:
    root = root_of(fake)
    return [t.format(root=root, host=root.removeprefix("http://")) for t in TRICKS]


def problems_with(base: str) -> list:
    """The problems of a one-component openai recipe with ``base`` as its base-url."""
    llm = {
        "type": "openai",
        "task": "TASK_TEXT_EMBEDDINGS",
        "input": {"model": "m", "text": "x"},
        "setup": {"base-url": base},
    }
    recipe = {"variable": {"url": {"type": "string"}}, "component": {"llm": llm}}
    return validate_recipe(recipe, registry=default_registry())


@pytest.mark.parametrize("index", range(len(TRICKS)), ids=TRICKS)
def test_path_tricks_in_a_literal_base_url_are_recipe_errors(fake_openai, index):
    """A literal base-url with a fragment, query, dot segments, percent-encoding,
    backslashes or credentials is a problem at ``component.<id>.setup.base-url``."""
    problems = problems_with(trick_urls(fake_openai)[index])
    assert [p.location for p in problems] == ["component.llm.setup.base-url"], problems
    assert "base-url must not" in problems[0].error


def test_plain_base_urls_and_references_pass_validation(fake_openai):
    for base in (fake_openai.base_url, "http://localhost:11434/v1/", "https://api.openai.com/v1", "${variable.url}"):
        assert problems_with(base) == []


@pytest.mark.parametrize("task", ["TASK_TEXT_GENERATION", "TASK_TEXT_EMBEDDINGS"])
async def test_path_tricks_resolved_at_run_time_never_reach_the_server(fake_openai, task):
    """A base-url that arrives through a reference is checked when the task runs: the
    task fails naming setup.base-url and the model server sees no request at all
    (``http://<allowed host>/api/pull#`` used to reach ``POST /api/pull``)."""
    for base in trick_urls(fake_openai):
        ctx = TaskContext(component_id="llm", task=task, setup={"base-url": base}, config=allowed(fake_openai))
        with pytest.raises(ComponentError, match=re.escape("setup.base-url")):
            await COMPONENT.tasks[task].run({"model": "m", "prompt": "x", "text": "x"}, ctx)
    assert fake_openai.requests == []


async def test_allowed_model_host_still_serves_the_component(fake_openai):
    """The API paths themselves go through on an allowed host, as before."""
    ctx = TaskContext(
        component_id="llm",
        task="TASK_TEXT_GENERATION",
        setup={"base-url": fake_openai.base_url},
        config=allowed(fake_openai),
    )
    out = await COMPONENT.tasks["TASK_TEXT_GENERATION"].run({"model": "m", "prompt": "hi"}, ctx)
    assert out["texts"] == ["You said: hi"]
    assert [r.path for r in fake_openai.requests] == ["/v1/chat/completions"]


async def test_guard_admits_only_the_api_paths_on_an_allowed_host(fake_openai):
    """Whatever URL the component builds, the outbound guard with the component's API
    paths refuses any other path, a query or a fragment on an allowed host."""
    hosts = allowed(fake_openai)["llm_allowed_hosts"]
    root = root_of(fake_openai)
    for url in (f"{root}/api/pull", f"{root}/api/pull#/chat/completions", f"{root}/v1/chat/completions?x=1"):
        with pytest.raises(outbound.OutboundRefused, match="refused"):
            async with outbound.guarded_stream(
                "POST", url, content=b"{}", allowed_hosts=hosts, allowed_paths=API_PATHS
            ):
                pass
    assert fake_openai.requests == []
    async with outbound.guarded_stream(
        "POST",
        f"{root}/v1/embeddings",
        content=b'{"model": "m", "input": "x"}',
        allowed_hosts=hosts,
        allowed_paths=API_PATHS,
    ) as response:
        assert response.status_code == 200
