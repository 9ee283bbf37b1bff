"""What only the scale-out configuration has: worker processes that can die, and the
channels-redis layer shared between processes."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from pipelines.models import PipelineRun
from tests.api.test_async import BASE, poll
from tests.conftest import SLOW_RECIPE
from tests.scale.conftest import worker_env
from tests.scale.services import ROOT


@pytest.mark.django_db(transaction=True)
def test_killed_worker_run_is_never_left_processing(api, alice, make_pipeline, slow_server):
    """kill -9 the worker process executing a run: the run ends COMPLETED (redelivered
    to another worker process) or FAILED as interrupted; never stuck PROCESSING."""
    make_pipeline(alice, "slow", raw_recipe=SLOW_RECIPE)
    body = {"data": [{"variable": {"url": f"{slow_server}/sleep/3"}}]}
    name = api.post(f"{BASE}/slow/trigger-async", body).json()["operation"]["name"]
    uid = name.split("/")[1]
    deadline = time.monotonic() + 20
    run = PipelineRun.objects.get(uid=uid)
    while run.status != PipelineRun.Status.PROCESSING and time.monotonic() < deadline:
        time.sleep(0.05)
        run = PipelineRun.objects.get(uid=uid)
    assert run.status == PipelineRun.Status.PROCESSING, run.status
    host, _, pid = run.worker.rpartition(":")
    assert pid.isdigit() and int(pid) != os.getpid()
    time.sleep(0.5)  # inside the HTTP call to the slow server
    os.kill(int(pid), signal.SIGKILL)

    done = poll(api, name, timeout=45)
    run.refresh_from_db()
    print(f"killed {host}:{pid}; run ended {run.status} by {run.worker}: {run.error or 'ok'}")
    assert run.status in (PipelineRun.Status.COMPLETED, PipelineRun.Status.FAILED), run.status
    if run.status == PipelineRun.Status.COMPLETED:
        assert done["response"]["outputs"] == [{"status": 200}]
        assert run.worker != f"{host}:{pid}"  # another process finished it
    else:
        assert done["error"]["code"] == 10 and "interrupted" in done["error"]["message"]

    # The worker replaced its dead process and still executes runs.
    make_pipeline(alice, "hello")
    after = api.post(f"{BASE}/hello/trigger-async", {"data": [{"variable": {"prompt": "again"}}]}).json()["operation"]
    assert poll(api, after["name"], timeout=30)["response"]["outputs"] == [{"answer": "Hello again"}]


SEND = textwrap.dedent(
    """
    import asyncio, sys
    import django
    django.setup()
    from channels.layers import get_channel_layer
    layer = get_channel_layer()
    assert type(layer).__module__.startswith("channels_redis"), type(layer)
    asyncio.run(layer.group_send(sys.argv[1], {"type": "run.event", "seq": 7, "from": "worker"}))
    """
)


async def test_channel_layer_is_redis_and_crosses_processes(celery_workers):
    """The channel layer is channels-redis here; a group message sent by another
    process with the workers' configuration reaches this process's group member."""
    from channels.layers import get_channel_layer
    from channels_redis.core import RedisChannelLayer

    layer = get_channel_layer()
    assert isinstance(layer, RedisChannelLayer)
    group = f"run-test-{os.getpid()}"
    channel = await layer.new_channel()
    await layer.group_add(group, channel)
    try:
        sender = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            SEND,
            group,
            cwd=ROOT,
            env=worker_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        output, _ = await asyncio.wait_for(sender.communicate(), 30)
        assert sender.returncode == 0, output.decode()
        message = await asyncio.wait_for(layer.receive(channel), 10)
        assert message == {"type": "run.event", "seq": 7, "from": "worker"}
    finally:
        await layer.group_discard(group, channel)


@pytest.mark.django_db(transaction=True)
def test_worker_reaper_fails_runs_of_a_dead_host(hello):
    """A run whose executor (on another host) stopped heartbeating is failed by the
    workers' reaper, without any request or restart: nothing stays PROCESSING."""
    from datetime import timedelta

    from django.utils import timezone

    run = PipelineRun.objects.create(
        pipeline=hello,
        status=PipelineRun.Status.PROCESSING,
        worker="ghost-host-not-here:1",
        heartbeat_time=timezone.now() - timedelta(hours=1),
        start_time=timezone.now() - timedelta(hours=1),
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        run.refresh_from_db()
        if run.status != PipelineRun.Status.PROCESSING:
            break
        time.sleep(0.1)
    assert run.status == PipelineRun.Status.FAILED and "interrupted" in run.error
