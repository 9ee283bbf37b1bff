"""A pipeline's Settings tab (owner only): description and visibility, rename, clone
and delete — through the same services as the REST API's PATCH, rename, clone and
DELETE."""

from __future__ import annotations

from typing import cast

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse

from pipelines.errors import ServiceError
from pipelines.forms import ID_MAX, add_service_error, id_field
from pipelines.selectors import pipeline_stats, release_ids
from pipelines.services import pipeline_removal
from pipelines.services import pipelines as pipeline_services
from pipelines.services.users import user_namespace
from pipelines.views.common import editable_pipeline, page

PRIVATE_LABEL = "Private — only you can see and run it"
# What "public" lets others do: the role it is shared with (kept while private; the API
# sets it with `sharing`), ROLE_EXECUTOR unless the owner chose ROLE_VIEWER.
PUBLIC_LABELS = {
    "ROLE_EXECUTOR": "Public — anyone can see it; signed-in users can run it",
    "ROLE_VIEWER": "Public — anyone can see it; only you can run it",
}


def _public_role(pipeline) -> str:
    entry = ((pipeline.sharing or {}).get("users") or {}).get("*/*") or {}
    role = entry.get("role")
    return role if isinstance(role, str) and role in PUBLIC_LABELS else "ROLE_EXECUTOR"


class DetailsForm(forms.Form):
    description = forms.CharField(
        required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 3}), help_text="Shown under its name."
    )
    visibility = forms.ChoiceField(choices=(), widget=forms.RadioSelect)

    def __init__(self, *args, public_role: str, **kwargs):
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["visibility"]).choices = [
            ("VISIBILITY_PRIVATE", PRIVATE_LABEL),
            ("VISIBILITY_PUBLIC", PUBLIC_LABELS[public_role]),
        ]


class RenameForm(forms.Form):
    new_id = id_field(
        label="New pipeline id",
        help_text="Lowercase letters, digits, - and _; it becomes part of the pipeline's URLs.",
        placeholder="new-name",
        max_length=ID_MAX,
    )
    confirm = forms.BooleanField(label="I understand that the old page and trigger URLs stop working")


class CloneForm(forms.Form):
    target_id = id_field(
        label="Id of the copy",
        help_text="Created in your namespace as a private pipeline.",
        placeholder="my-copy",
        max_length=ID_MAX,
    )


class DeleteForm(forms.Form):
    confirm_id = forms.CharField(
        label="Type the pipeline id to confirm",
        max_length=64,
        widget=forms.TextInput(attrs={"autocapitalize": "none", "spellcheck": "false", "autocomplete": "off"}),
    )

    def __init__(self, *args, pipeline_id: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.pipeline_id = pipeline_id

    def clean_confirm_id(self) -> str:
        value = self.cleaned_data["confirm_id"].strip()
        if value != self.pipeline_id:
            raise forms.ValidationError(f'Type "{self.pipeline_id}" exactly to delete this pipeline.')
        return value


def _forms(pipeline, data=None, action: str = "") -> dict[str, forms.Form]:
    """The page's four forms; only the one named by ``action`` is bound to ``data``."""
    initial = {"description": pipeline.description, "visibility": _visibility(pipeline)}
    return {
        "details": DetailsForm(
            data if action == "details" else None,
            initial=initial,
            prefix="details",
            public_role=_public_role(pipeline),
        ),
        "rename": RenameForm(data if action == "rename" else None, prefix="rename"),
        "clone": CloneForm(data if action == "clone" else None, prefix="clone"),
        "delete": DeleteForm(data if action == "delete" else None, prefix="delete", pipeline_id=pipeline.slug),
    }


def _visibility(pipeline) -> str:
    return "VISIBILITY_PUBLIC" if pipeline.is_public else "VISIBILITY_PRIVATE"


def _counted(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _settings_page(request, pipeline, permission, forms_: dict, *, status: int = 200):
    kwargs = {"namespace_id": pipeline.namespace.slug, "pipeline_id": pipeline.slug}
    runs = pipeline_stats(pipelines=[pipeline]).get(pipeline.pk, {}).get("numberOfRuns", 0)
    releases = release_ids(pipeline=pipeline)
    context = {
        "pipeline": pipeline,
        "permission": permission,
        "forms": forms_,
        "number_of_runs": runs,
        "releases": releases,
        "confirm_rename": f'Rename "{pipeline.slug}"? Its old page and trigger URLs will stop working.',
        "confirm_delete": (
            f'Delete "{pipeline.slug}" with its {_counted(runs, "run")} and {_counted(len(releases), "release")}?'
            " This cannot be undone."
        ),
        "trigger_url": request.build_absolute_uri(
            f"/v1beta/namespaces/{pipeline.namespace.slug}/pipelines/{pipeline.slug}/trigger"
        ),
        "page_url": request.build_absolute_uri(reverse("pipeline-overview", kwargs=kwargs)),
    }
    return render(request, "pipelines/pipeline_settings.html", context, status=status)


@login_required
@page
def pipeline_settings(request, namespace_id: str, pipeline_id: str):
    pipeline, permission = editable_pipeline(request, namespace_id, pipeline_id)
    return _settings_page(request, pipeline, permission, _forms(pipeline))


def _back_to_settings(pipeline):
    return redirect("pipeline-settings", namespace_id=pipeline.namespace.slug, pipeline_id=pipeline.slug)


@login_required
@page
def pipeline_settings_update(request, namespace_id: str, pipeline_id: str, action: str):
    """One of the page's forms, posted: ``details``, ``rename``, ``clone`` or ``delete``.
    A refused form comes back with its errors (400); a done one redirects."""
    pipeline, permission = editable_pipeline(request, namespace_id, pipeline_id)
    if request.method != "POST":
        return _back_to_settings(pipeline)
    forms_ = _forms(pipeline, request.POST, action)
    form = forms_.get(action)
    if form is None:
        messages.error(request, f'There is no setting "{action}".')
        return _back_to_settings(pipeline)
    if form.is_valid():
        try:
            return ACTIONS[action](request, pipeline, form.cleaned_data)
        except ServiceError as exc:
            add_service_error(
                form,
                exc,
                fields={"newPipelineId": "new_id", "targetPipelineId": "target_id", "id": "target_id"},
            )
    return _settings_page(request, pipeline, permission, forms_, status=400)


def _details(request, pipeline, data: dict):
    pipeline_services.pipeline_update(
        pipeline=pipeline, changes={"description": data["description"], "visibility": data["visibility"]}
    )
    shown = PUBLIC_LABELS[_public_role(pipeline)] if pipeline.is_public else PRIVATE_LABEL
    shown = shown.split(" — ", 1)[0].lower() + ": " + shown.split(" — ", 1)[1]
    messages.success(request, f"Settings saved. The pipeline is {shown}.")
    return _back_to_settings(pipeline)


def _rename(request, pipeline, data: dict):
    old_id = pipeline.slug
    pipeline_services.pipeline_rename(pipeline=pipeline, new_id=data["new_id"])
    messages.success(
        request, f'Renamed "{old_id}" to "{pipeline.slug}". URLs with "{old_id}" no longer work: update your scripts.'
    )
    return _back_to_settings(pipeline)


def _clone(request, pipeline, data: dict):
    clone = pipeline_services.pipeline_clone(
        pipeline=pipeline, target_namespace=user_namespace(request.user), target_id=data["target_id"]
    )
    messages.success(request, f'Cloned "{pipeline.slug}" as "{clone.slug}" (private, no runs or releases yet).')
    return redirect("pipeline-overview", namespace_id=clone.namespace.slug, pipeline_id=clone.slug)


def _delete(request, pipeline, data: dict):
    slug = pipeline.slug
    pipeline_removal.pipeline_delete(pipeline=pipeline)
    messages.success(request, f'Deleted "{slug}", its runs and its releases.')
    return redirect("pipeline-list")


ACTIONS = {"details": _details, "rename": _rename, "clone": _clone, "delete": _delete}
