"""Forms of the web pages. They parse and shape what a person typed; the services
decide whether it is acceptable (ids, recipes, variable types), and their errors are
put back on the field they name with :func:`add_service_error`."""

from __future__ import annotations

import json
import re
from typing import Any, cast

from django import forms
from django.conf import settings
from django.contrib.auth.password_validation import validate_password

from pipelines.engine.inputs import media_type_fits
from pipelines.engine.limits import InputLimitError, loads_json
from pipelines.engine.recipe import Recipe, Variable
from pipelines.engine.types import FILE_TYPES, item_type
from pipelines.errors import InvalidArgument, ServiceError
from pipelines.services.pipelines import ID_MAX
from pipelines.services.triggers import file_value

# What a file picker offers for each file type (the server checks the real type).
ACCEPT = {
    "image": "image/*",
    "audio": "audio/*",
    "video": "video/*",
    "document": ".pdf,.doc,.docx,.odt,.rtf,.txt,.md,.html,.htm,.csv,.json,.xml,.epub,.xls,.xlsx,.ppt,.pptx,application/pdf,text/*",
    "file": "",
}


# What a value of each type must be, in the words of the run form.
MUST_BE = {
    "string": "This must be text.",
    "number": "This must be a number.",
    "integer": "This must be a whole number.",
    "boolean": "This must be yes or no.",
    "json": "This must be JSON.",
    "image": "This must be an image — PNG, JPEG, GIF, WebP, …",
    "audio": "This must be an audio file — MP3, WAV, OGG, …",
    "video": "This must be a video — MP4, WebM, MOV, …",
    "document": "This must be a document — PDF, Word, text, Markdown, HTML, CSV, …",
    "file": "This must be a file.",
}


def add_service_error(form: forms.Form, error: ServiceError, *, fields: dict[str, str] | None = None) -> None:
    """Show a service error next to the field it concerns, else at the top of the form.

    ``fields`` maps the service's field names (``id``, ``variable.prompt``) to form
    fields when they differ."""
    name = error.field or ""
    name = (fields or {}).get(name, name)
    if name.startswith("variable."):
        name = name.removeprefix("variable.")
    form.add_error(name if name in form.fields else None, error.message)


# --- accounts -----------------------------------------------------------------------


class SignupForm(forms.Form):
    username = forms.CharField(
        max_length=32,
        help_text="Also your namespace: lowercase letters, digits, - and _.",
        widget=forms.TextInput(attrs={"autocomplete": "username", "autocapitalize": "none", "spellcheck": "false"}),
    )
    password1 = forms.CharField(
        label="Password", strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )
    password2 = forms.CharField(
        label="Password again", strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )

    def clean(self):
        data = super().clean() or self.cleaned_data
        first, second = data.get("password1"), data.get("password2")
        if first and second and first != second:
            self.add_error("password2", "The two passwords differ.")
        elif first:
            try:
                validate_password(first)
            except forms.ValidationError as exc:
                self.add_error("password1", exc)
        return data


# --- pipelines ----------------------------------------------------------------------


def id_field(*, label: str, help_text: str, placeholder: str, max_length: int = 32) -> forms.CharField:
    """A resource id input (pipeline: ``max_length`` 63; token, secret: 32); the service checks the pattern."""
    return forms.CharField(
        label=label,
        max_length=max_length,
        help_text=help_text,
        widget=forms.TextInput(attrs={"autocapitalize": "none", "spellcheck": "false", "placeholder": placeholder}),
    )


class PipelineCreateForm(forms.Form):
    id = id_field(
        label="Pipeline id",
        help_text="Lowercase letters, digits, - and _; it is part of the pipeline's URL.",
        placeholder="my-pipeline",
        max_length=ID_MAX,
    )
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    template = forms.ChoiceField(label="Start from", choices=(), widget=forms.RadioSelect)
    public = forms.BooleanField(
        label="Public", required=False, help_text="Anyone can view it; signed-in users can run it."
    )

    def __init__(self, *args, templates: dict[str, tuple[str, str]], **kwargs):
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["template"]).choices = [
            (key, label) for key, (label, _) in templates.items()
        ]
        self.fields["template"].initial = "hello" if "hello" in templates else next(iter(templates))


class ReleaseForm(forms.Form):
    version = forms.CharField(
        label="Version", max_length=64, widget=forms.TextInput(attrs={"placeholder": "v1.0.0", "spellcheck": "false"})
    )
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))


# --- the run form ---------------------------------------------------------------------


class ListWidget(forms.Widget):
    """Repeated inputs of one name (``<input name=x>`` several times) read as a list."""

    def __init__(self, *, files: bool = False):
        super().__init__()
        self.files = files

    def value_from_datadict(self, data, files, name):
        source = files if self.files else data
        return source.getlist(name) if hasattr(source, "getlist") else source.get(name) or []

    def value_omitted_from_data(self, data, files, name):
        return name not in (files if self.files else data)


class JsonField(forms.CharField):
    """JSON text in, a JSON value out (None when left empty)."""

    def __init__(self, **kwargs):
        super().__init__(strip=False, widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false"}), **kwargs)

    def to_python(self, value):
        text = super().to_python(value)
        if text is None or not text.strip():
            return None
        try:
            return loads_json(text, max_depth=settings.PIPELINE_MAX_JSON_DEPTH, what="this value")
        except InputLimitError as exc:
            raise forms.ValidationError(exc.message) from None
        except ValueError as exc:
            raise forms.ValidationError(f"This is not valid JSON: {exc}") from None


class ListField(forms.Field):
    """An ``array:<type>`` variable: each non-empty item cleaned by ``item``."""

    def __init__(self, *, item: forms.Field, files: bool = False, **kwargs):
        super().__init__(widget=ListWidget(files=files), **kwargs)
        self.item = item

    def to_python(self, value):
        items = [v for v in (value or []) if v not in ("", None)]
        errors: list[str] = []
        out: list[Any] = []
        for position, item in enumerate(items):
            try:
                out.append(self.item.clean(item))
            except forms.ValidationError as exc:
                errors.extend(f"Item {position + 1}: {message}" for message in exc.messages)
        if errors:
            raise forms.ValidationError(errors)
        return out or None


def _item_field(kind: str) -> forms.Field:
    if kind == "number":
        return forms.FloatField(required=False)
    if kind == "integer":
        return forms.IntegerField(required=False)
    if kind == "boolean":
        return forms.NullBooleanField(required=False)
    if kind == "json":
        return JsonField(required=False)
    if kind in FILE_TYPES:
        return forms.FileField(required=False)
    return forms.CharField(required=False, strip=False, widget=forms.Textarea(attrs={"rows": 3}))


def _initial(variable: Variable) -> Any:
    if not variable.has_default or variable.default is None:
        return None
    kind = item_type(variable.type) or variable.type
    if kind in FILE_TYPES:
        return None  # a default file is applied by the server when the picker is left empty
    if kind == "json" and not item_type(variable.type):
        return json.dumps(variable.default, indent=2)
    if item_type(variable.type) and isinstance(variable.default, list):
        return [json.dumps(v) if kind == "json" else v for v in variable.default]
    return variable.default


class RunForm(forms.Form):
    """A form generated from a recipe's variables, in ``instill-ui-order``.

    Nothing is required here: whether a variable is missing or of the wrong type is
    the trigger service's answer (the single validator), shown on the field it names.
    Each field carries ``variable`` and ``ui`` (text, number, integer, boolean, json,
    file, list) for the template.
    """

    def __init__(
        self,
        *args,
        variables: tuple[Variable, ...],
        values: dict | None = None,
        specs: dict | None = None,
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        values = values or {}
        specs = specs if isinstance(specs, dict) else {}
        for variable in variables:
            inner = item_type(variable.type)
            kind = inner or variable.type
            if inner is not None:
                field: forms.Field = ListField(item=_item_field(kind), files=kind in FILE_TYPES, required=False)
                ui = "files" if kind in FILE_TYPES else "list"
            elif kind == "boolean":
                field, ui = forms.BooleanField(required=False), "boolean"
            else:
                field = _item_field(kind)
                ui = (
                    "file"
                    if kind in FILE_TYPES
                    else {"number": "number", "integer": "integer", "boolean": "boolean", "json": "json"}.get(
                        kind, "text"
                    )
                )
            field.label = variable.title or variable.id
            field.help_text = variable.description
            field.initial = _initial(variable)
            if variable.id in values:
                field.initial = _prefill(variable, values[variable.id])
            # What the template reads beside Django's own attributes.
            if ui == "text" and not _multiline(variable, specs.get(variable.id)):
                ui = "line"
            field.__dict__.update(variable=variable, ui=ui, kind=kind, accept=ACCEPT.get(kind, ""))
            self.fields[variable.id] = field

    def clean(self):
        """Mark every field a run would refuse at once, in plain words: a required
        variable left empty (without a default) and a file of the wrong kind. The
        trigger service still checks everything (:meth:`add_service_error`)."""
        data = super().clean() or self.cleaned_data
        for name, field in self.fields.items():
            variable, kind = field.__dict__["variable"], field.__dict__["kind"]
            if name in self.errors:
                continue
            value = data.get(name)
            empty = value is None or value == "" or value == []
            # A re-run's checked "use the earlier run's file" box fills an empty file field.
            carried = bool(self.data.get(f"{self.add_prefix(name)}-carried"))
            if (
                empty
                and not carried
                and variable.required
                and not (variable.has_default and variable.default is not None)
            ):
                self.add_error(name, f"{field.label} is required.")
                continue
            uploads = value if isinstance(value, list) else [value]
            for upload in uploads:
                mime = (getattr(upload, "content_type", None) or "").split(";")[0].strip().lower()
                if (
                    kind in FILE_TYPES
                    and mime
                    and mime != "application/octet-stream"
                    and not media_type_fits(kind, mime)
                ):
                    self.add_error(name, MUST_BE[kind])
                    break
        return data

    def add_service_error(self, error: ServiceError) -> None:
        """The trigger service's verdict on the field it names, in the form's words
        ("Prompt is required.", "This must be an image — …") rather than the API's."""
        name = (error.field or "").removeprefix("variable.")
        field = self.fields.get(name)
        if field is None or not isinstance(error, InvalidArgument):
            self.add_error(None, error.message)
            return
        message = error.message
        if message.startswith("missing required variable"):
            message = f"{field.label} is required."
        elif " must be " in message:
            message = MUST_BE.get(field.__dict__["kind"], message)
        else:  # 'variable "photo": could not fetch …': the field already says which variable
            message = message.removeprefix(f'variable "{name}"').lstrip(": ")
            message = message[:1].upper() + message[1:]
        self.add_error(name, message)

    def variables(self) -> dict[str, Any]:
        """The typed values given; left-out variables are absent (their defaults apply)."""
        out: dict[str, Any] = {}
        for name, value in self.cleaned_data.items():
            if value is None or value == "":
                continue
            if isinstance(value, list):
                value = [file_value(v) if hasattr(v, "content_type") else v for v in value]
            elif hasattr(value, "content_type"):
                value = file_value(value)
            out[name] = value
        return out


# Words in a text variable's id or title that say a long text is expected.
LONG_TEXT_WORDS = frozenset(
    {"prompt", "text", "message", "content", "body", "description", "instructions", "context", "document", "system"}
)


def _multiline(variable: Variable, spec: Any) -> bool:
    """A text variable gets a multi-line input when its recipe says so
    (``instill-ui-multiline``) or a long text is expected (a long or multi-line default,
    a name such as "prompt"); a one-line input otherwise."""
    if isinstance(spec, dict) and "instill-ui-multiline" in spec:
        return bool(spec["instill-ui-multiline"])
    default = variable.default if isinstance(variable.default, str) else ""
    if "\n" in default or len(default) > 80:
        return True
    words = set(re.split(r"[^a-z]+", f"{variable.id} {variable.title}".lower()))
    return bool(words & LONG_TEXT_WORDS)


def _prefill(variable: Variable, value: Any) -> Any:
    """A stored input (run history) back in the form; files cannot be put back in a picker."""
    kind = item_type(variable.type) or variable.type
    if kind in FILE_TYPES:
        return None
    if kind == "json":
        return (
            [json.dumps(v) for v in value]
            if item_type(variable.type) and isinstance(value, list)
            else json.dumps(value, indent=2)
        )
    return value


# --- settings -----------------------------------------------------------------------

EXPIRY_CHOICES = [("7", "7 days"), ("30", "30 days"), ("90", "90 days"), ("365", "1 year"), ("never", "Never")]


class TokenCreateForm(forms.Form):
    id = id_field(label="Name", help_text="Lowercase letters, digits, - and _.", placeholder="my-script")
    expiry = forms.ChoiceField(label="Expires after", choices=EXPIRY_CHOICES, initial="30")

    def ttl(self) -> int:
        expiry = self.cleaned_data["expiry"]
        return -1 if expiry == "never" else int(expiry) * 86400


class SecretCreateForm(forms.Form):
    id = id_field(label="Name", help_text="Referenced in recipes as ${secret.<name>}.", placeholder="openai-key")
    value = forms.CharField(strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "off"}))
    description = forms.CharField(required=False)


class SecretUpdateForm(forms.Form):
    value = forms.CharField(label="New value", strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "off"}))


def run_form_for(recipe: Recipe | None, *args, **kwargs) -> RunForm:
    """The run form of a recipe's variables (none for a recipe that does not parse)."""
    if recipe is None:
        return RunForm(*args, variables=(), prefix="v", **kwargs)
    return RunForm(*args, variables=recipe.variables, specs=recipe.raw.get("variable"), prefix="v", **kwargs)
