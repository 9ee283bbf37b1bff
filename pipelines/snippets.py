"""PLACEHOLDER for the Trigger Snippet renderer built on branch ``snippets``; replaced
at merge. Only what the web pages need to render: a cURL command for the sync trigger."""

from __future__ import annotations


def snippet_context(*, request, pipeline, release=None) -> dict:
    path = f"/v1beta/namespaces/{pipeline.namespace.slug}/pipelines/{pipeline.slug}"
    if release is not None:
        path += f"/releases/{release.slug}"
    url = request.build_absolute_uri(path + "/trigger")
    return {
        "url": url,
        "curl": f'curl -X POST {url} --header "Content-Type: application/json" '
        '--header "Authorization: Bearer $INSTILL_API_TOKEN" --data \'{"data": [{"variable": {}}]}\'',
    }
