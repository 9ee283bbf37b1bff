"""The slack component against a real local server speaking Slack's Web API
(tests/components/fake_slack.py): reading a channel's conversations with their threads
and authors, posting as the bot or the user, Slack's errors, retries, and the server's
PIPELINE_SLACK_BASE_URL and connections in recipes."""

from __future__ import annotations

import json
from typing import Any

import pytest

from pipelines.components import default_registry
from pipelines.components.slack import COMPONENT
from pipelines.engine import execute, parse_recipe
from pipelines.engine.components import ComponentError
from pipelines.engine.connections import packed
from pipelines.engine.platform import PlatformSetup
from tests.components import fake_vendor
from tests.components.fake_slack import BOT_TOKEN, USER_TOKEN, running
from tests.components.test_platform_keys import everything_handed_out

FAST = {"http_allowed_hosts": ["127.0.0.1"], "openai_backoff_seconds": 0.01}

vendor_server, fake = fake_vendor.fixtures(running)


async def run_task(fake, task: str, input: dict[str, Any], **setup: Any) -> dict[str, Any]:
    setup = {"bot-token": BOT_TOKEN, "base-url": fake.base_url, **setup}
    return await fake_vendor.run_task(COMPONENT, task, input, setup, FAST, None)


def test_definition_matches_instill():
    """Type, tasks and field names of Instill's slack v0 (pkg/component/application/slack/v0/config)."""
    assert (COMPONENT.type, COMPONENT.kind, COMPONENT.version) == ("slack", "application", "0.2.0")
    assert set(COMPONENT.tasks) == {"TASK_READ_MESSAGE", "TASK_WRITE_MESSAGE"}
    assert {"bot-token", "user-token"} <= set(COMPONENT.setup_schema["properties"])
    assert COMPONENT.setup_schema["required"] == ["bot-token"]
    read = COMPONENT.tasks["TASK_READ_MESSAGE"]
    assert set(read.input_schema["properties"]) == {"channel-name", "start-to-read-date"}
    item = read.output_schema["properties"]["conversations"]["items"]
    assert set(item["properties"]) == {
        "user-id",
        "user-name",
        "message",
        "start-date",
        "last-date",
        "thread-reply-messages",
    }
    assert set(item["properties"]["thread-reply-messages"]["items"]["properties"]) == {
        "user-id",
        "user-name",
        "datetime",
        "message",
    }
    write = COMPONENT.tasks["TASK_WRITE_MESSAGE"]
    assert set(write.input_schema["properties"]) == {"channel-name", "message", "as-user"}
    assert COMPONENT.credential_fields == {"bot-token", "user-token"}


async def test_read_message_answers_conversations_with_threads_and_names(fake):
    out = await run_task(fake, "TASK_READ_MESSAGE", {"channel-name": "general", "start-to-read-date": "2024-07-01"})
    assert out == {
        "conversations": [
            {
                "user-id": "U061F7AUR",
                "user-name": "venkman",
                "message": "Who ya gonna call?",
                "start-date": "2024-07-03",
                "last-date": "2024-07-03",
                "thread-reply-messages": [],
            },
            {
                "user-id": "U012AB3CDE",
                "user-name": "spengler",
                "message": "I find you punny and would like to smell your nose letter",
                "start-date": "2024-07-02",
                "last-date": "2024-07-04",
                "thread-reply-messages": [
                    {
                        "user-id": "U061F7AUR",
                        "user-name": "venkman",
                        "datetime": "2024-07-02T09:30:00Z",
                        "message": "Nice one",
                    },
                    {
                        "user-id": "U012AB3CDE",
                        "user-name": "spengler",
                        "datetime": "2024-07-04T07:15:00Z",
                        "message": "Thanks!",
                    },
                ],
            },
        ]
    }
    methods = [path.split("?")[0].rsplit("/", 1)[1] for path in fake.paths()]
    # the channel list and the history over both their pages; each author's name once
    assert methods == [
        "conversations.list",
        "conversations.list",
        "conversations.history",
        "conversations.history",
        "conversations.replies",
        "users.info",
        "users.info",
    ]
    assert all(r.headers["authorization"] == f"Bearer {BOT_TOKEN}" for r in fake.requests)


async def test_read_message_defaults_to_the_last_seven_days(fake):
    out = await run_task(fake, "TASK_READ_MESSAGE", {"channel-name": "general"})
    assert out == {"conversations": []}  # the fake's messages are from 2024


async def test_a_channel_on_a_later_page_is_found(fake):
    out = await run_task(fake, "TASK_READ_MESSAGE", {"channel-name": "#random", "start-to-read-date": "2024-01-01"})
    assert out == {"conversations": []}
    assert "channel=C061EG9T2" in fake.paths()[-1]


async def test_a_listing_that_never_ends_stops_with_an_error(fake):
    """A server that always names a next cursor: the component stops after 100 pages."""
    fake.endless = True
    with pytest.raises(ComponentError, match="more pages after 100 pages"):
        await run_task(fake, "TASK_READ_MESSAGE", {"channel-name": "general"})
    assert len([p for p in fake.paths() if "conversations.list" in p]) == 100


async def test_write_message_posts_as_the_bot(fake):
    """Instill's README recipe's component (pkg/component/application/slack/v0/README.mdx)."""
    out = await run_task(
        fake,
        "TASK_WRITE_MESSAGE",
        {"channel-name": "general", "message": "Message received in #ops:\\nall good", "as-user": False},
    )
    assert out == {"result": "succeed"}
    (post,) = fake.posted
    assert post.body == {"channel": "C012AB3CD", "text": "Message received in #ops:\nall good"}
    assert post.headers["authorization"] == f"Bearer {BOT_TOKEN}"
    assert post.headers["content-type"].startswith("application/json")


async def test_write_message_as_the_user_uses_the_user_token(fake):
    await run_task(
        fake,
        "TASK_WRITE_MESSAGE",
        {"channel-name": "general", "message": "hi", "as-user": True},
        **{"user-token": USER_TOKEN},
    )
    assert {r.headers["authorization"] for r in fake.requests} == {f"Bearer {USER_TOKEN}"}


@pytest.mark.parametrize(
    ("task", "input", "setup", "words"),
    [
        (
            "TASK_WRITE_MESSAGE",
            {"channel-name": "general", "message": "hi", "as-user": True},
            {},
            "fill the user-token",
        ),
        ("TASK_WRITE_MESSAGE", {"channel-name": "nowhere", "message": "hi"}, {}, "couldn't find channel [nowhere]"),
        ("TASK_WRITE_MESSAGE", {"channel-name": "general", "message": ""}, {}, "message is required"),
        (
            "TASK_READ_MESSAGE",
            {"channel-name": "general", "start-to-read-date": "07/01/2024"},
            {},
            "start-to-read-date must be a date",
        ),
        ("TASK_READ_MESSAGE", {"channel-name": ""}, {}, "channel-name is required"),
        ("TASK_READ_MESSAGE", {"channel-name": "general"}, {"bot-token": "xoxb-wrong-token"}, "error 'invalid_auth'"),
        ("TASK_READ_MESSAGE", {"channel-name": "general"}, {"bot-token": ""}, "setup.bot-token is required"),
        (
            "TASK_READ_MESSAGE",
            {"channel-name": "general"},
            {"base-url": "ftp://slack"},
            "setup.base-url must be an http(s) URL",
        ),
    ],
)
async def test_errors_name_the_field_or_slacks_error(fake, task, input, setup, words):
    with pytest.raises(ComponentError) as caught:
        await run_task(fake, task, input, **setup)
    assert words in str(caught.value)
    assert "xoxb-wrong-token" not in str(caught.value)


async def test_rate_limits_are_retried(fake):
    fake.fail(429, times=2)
    out = await run_task(fake, "TASK_WRITE_MESSAGE", {"channel-name": "general", "message": "hi"})
    assert out == {"result": "succeed"}
    fake.fail(429, times=3)
    with pytest.raises(ComponentError, match=r"Slack answered 429 .*ratelimited.*after 3 attempts"):
        await run_task(fake, "TASK_WRITE_MESSAGE", {"channel-name": "general", "message": "hi"})


# --- in recipes ------------------------------------------------------------------------

# The component of Instill's slack README recipe (pkg/component/application/slack/v0/
# README.mdx), its event-fed variables as plain ones.
RECIPE = """
version: v1beta
variable:
  message:
    title: message
    type: string
  user:
    title: user
    type: string
  channel:
    title: channel
    type: string
component:
  slack-0:
    type: slack
    input:
      channel-name: general
      message: "Message received in #${variable.channel} from @${variable.user}: ${variable.message}"
      as-user: false
    setup: SETUP
    task: TASK_WRITE_MESSAGE
output:
  result:
    value: ${slack-0.output.result}
"""
ROW = {"message": "hello", "user": "venkman", "channel": "ops"}


async def run_recipe(setup: str, config: dict[str, Any], secrets: dict[str, str]):
    recipe = parse_recipe(RECIPE.replace("SETUP", setup), registry=default_registry())
    events: list[Any] = []
    result = await execute(recipe, recipe.bind_rows([ROW]), secrets=secrets, config=config, on_event=events.append)
    return result, events


async def test_the_server_base_url_lets_a_recipe_reach_its_slack(fake):
    """PIPELINE_SLACK_BASE_URL (a self-hosted proxy, or this test's fake) is filled into
    a setup that names none, and its host is allowed for the slack type only."""
    config = {"openai_backoff_seconds": 0.01, "platform_setups": {"slack": PlatformSetup("slack", "", fake.base_url)}}
    result, events = await run_recipe('{bot-token: "${secret.slack-bot}"}', config, {"slack-bot": BOT_TOKEN})
    row = result.rows[0]
    assert not row.errored, row.components
    assert row.outputs == {"result": "succeed"}
    assert fake.posted[0].body["text"] == "Message received in #ops from @venkman: hello"
    assert BOT_TOKEN not in everything_handed_out(result, events)
    # without it, the loopback fake is refused by the outbound guard
    fake.reset()
    result, _ = await run_recipe(
        f'{{bot-token: "${{secret.slack-bot}}", base-url: "{fake.base_url}"}}', {}, {"slack-bot": BOT_TOKEN}
    )
    assert "loopback addresses are not allowed" in (result.rows[0].components["slack-0"].error or "")
    assert fake.requests == []


async def test_a_connection_is_the_whole_setup_and_its_tokens_are_masked(fake):
    secrets = packed("my-slack-connection", {"bot-token": BOT_TOKEN, "base-url": fake.base_url}, [BOT_TOKEN])
    result, events = await run_recipe("${connection.my-slack-connection}", FAST, secrets)
    row = result.rows[0]
    assert not row.errored, row.components
    assert fake.posted[0].headers["authorization"] == f"Bearer {BOT_TOKEN}"
    handed_out = everything_handed_out(result, events)
    assert BOT_TOKEN not in handed_out and json.dumps(BOT_TOKEN) not in handed_out


async def test_a_model_host_is_no_door_for_slack(fake):
    """PIPELINE_LLM_ALLOWED_HOSTS admits model servers for the AI components only."""
    setup = {"bot-token": BOT_TOKEN, "base-url": fake.base_url}
    config = {"llm_allowed_hosts": ["127.0.0.1"], "openai_backoff_seconds": 0.01}
    with pytest.raises(ComponentError, match="loopback addresses are not allowed"):
        await fake_vendor.run_task(
            COMPONENT, "TASK_WRITE_MESSAGE", {"channel-name": "general", "message": "hi"}, setup, config, None
        )
    assert fake.requests == []
