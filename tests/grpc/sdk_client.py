"""Runs inside the Instill SDK's own virtualenv (tests/grpc/sdk_venv.py), not ours:

    python -I sdk_client.py TOKEN HOST:PORT NAMESPACE RESULT.json

Uses the SDK exactly as our Trigger Snippet shows it and writes what it got back as
JSON to RESULT.json (the SDK logs to stdout). The SDK has no deadlines and calls
``os._exit(1)`` on errors, so the test runs this with a timeout.
"""

import json
import sys
import time

import grpc
from google.protobuf.json_format import MessageToDict
from instill.clients import init_mgmt_client, init_pipeline_client


def main(token: str, url: str, namespace: str, result_path: str) -> None:
    result = {}
    pipeline = init_pipeline_client(api_token=token, url=url, secure=False)
    result["trigger"] = pipeline.trigger(namespace_id=namespace, pipeline_id="hello", data=[{"prompt": "hello world"}])

    release = pipeline.trigger_release(
        namespace_id=namespace, pipeline_id="hello", release_id="v1.0.0", data=[{"prompt": "release"}]
    )
    result["trigger_release"] = MessageToDict(release)

    started = pipeline.trigger_async(namespace_id=namespace, pipeline_id="hello", data=[{"prompt": "later"}])
    result["trigger_async"] = MessageToDict(started)
    operation_id = started.operation.name.split("/")[-1]
    deadline = time.monotonic() + 30
    while True:
        operation = pipeline.get_operation(operation_id=operation_id).operation
        if operation.done or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    result["get_operation"] = MessageToDict(operation)

    stream = pipeline.trigger_with_stream(namespace_id=namespace, pipeline_id="hello", data=[{"prompt": "stream"}])
    result["trigger_with_stream"] = [MessageToDict(update) for update in stream]

    # silent=True: the SDK swallows the error (None) instead of exiting the process...
    result["silent_not_found"] = pipeline.trigger(
        namespace_id=namespace, pipeline_id="no-such-pipeline", data=[{"prompt": "x"}], silent=True
    )
    # ...so read the status through the SDK's own stub, request class and metadata.
    from instill.protogen.pipeline.pipeline.v1beta import pipeline_pb2

    request = pipeline_pb2.TriggerNamespacePipelineRequest(namespace_id=namespace, pipeline_id="no-such-pipeline")
    request.data.append(pipeline_pb2.TriggerData())
    request.data[0].variable.update({"prompt": "x"})
    try:
        pipeline.host.client.TriggerNamespacePipeline(request=request, metadata=pipeline.host.metadata, timeout=30)
    except grpc.RpcError as error:
        result["not_found"] = [error.code().name, error.details()]

    # The component catalog, as the SDK asks for it (VIEW_FULL, a page, a filter).
    result["component_definitions"] = MessageToDict(
        pipeline.list_component_definitions(page=0, filter_str='qTitle="JSO"')
    )

    # Integrations and connections, as the SDK's own calls make them.
    result["list_integrations"] = MessageToDict(pipeline.list_integrations(filter_str='qIntegration="open"'))
    result["get_integration"] = MessageToDict(pipeline.get_integration(integration_id="openai"))
    setup = {"api-key": "sk-sdk-key-0123456789", "base-url": "http://localhost:9/v1"}
    result["create_connection"] = MessageToDict(
        pipeline.create_connection(namespace_id=namespace, integration_id="openai", connection_id="sdk-ai", setup=setup)
    )
    setup = {"api-key": "*****MASK*****", "base-url": "http://localhost:8/v1"}
    pipeline.update_connection(namespace_id=namespace, integration_id="openai", connection_id="sdk-ai", setup=setup)
    result["get_connection"] = MessageToDict(pipeline.get_connection(namespace_id=namespace, connection_id="sdk-ai"))
    result["list_connections"] = MessageToDict(pipeline.list_connections(namespace_id=namespace))
    pipeline.delete_connection(namespace_id=namespace, connection_id="sdk-ai")
    result["after_delete"] = MessageToDict(pipeline.list_connections(namespace_id=namespace))

    pipeline.close()

    # The management client's users (GetAuthenticatedUser, GetUser).
    mgmt = init_mgmt_client(api_token=token, url=url, secure=False)
    result["get_authenticated_user"] = MessageToDict(mgmt.get_authenticated_user())
    result["get_user"] = MessageToDict(mgmt.get_user(user_id=namespace))
    mgmt.close()
    with open(result_path, "w") as out:
        json.dump(result, out)


if __name__ == "__main__":
    main(*sys.argv[1:5])
