"""Platform keys: the server's own key and endpoint for a vendor component.

Recipes written for Instill reach a model provider without a key of their own in two
ways, and both work here:

- ``setup: {api-key: ${secret.INSTILL_SECRET}}`` — Instill's reserved secret name for
  "this server's key for this vendor". It resolves to the key of *that component's*
  type, and only inside that component's ``setup``;
- no ``setup`` at all — the component gets the server's default setup.

A component type takes platform keys when its setup schema has an ``api-key`` field
(every AI vendor component does, as Instill names it), so a new vendor component gets
them by declaring that field; a component whose server needs no key (``ollama``) gets
its platform base URL by declaring a ``base-url`` field. A component whose endpoint field is
Instill's ``url`` (the vector stores: ``qdrant``, ``pinecone``, ``milvus`` ...) and that has no
``base-url`` gets the platform's base URL in ``url``, guarded the same way
(:func:`url_field`). The server configures them per type with
``PIPELINE_<VENDOR>_API_KEY`` and ``PIPELINE_<VENDOR>_BASE_URL`` (:func:`setting_names`;
``<VENDOR>`` is the type upper-cased, ``-`` as ``_``) and hands them to ``execute`` as
``config["platform_setups"]`` (type → :class:`PlatformSetup`): the engine reads no
settings itself. The executor puts ``api-key`` and ``base-url`` into the component's
setup; the component reads its setup as always.

The key is the server's, not the recipe author's, so it is guarded more closely than a
namespace secret:

- it is only ever sent to the server's base URL for that vendor (or, without one, the
  component's own default endpoint): a setup that uses it with another ``base-url`` is
  refused;
- it never reaches a component's input, and ``${component.setup...}`` shows it masked,
  so no other component (``http``, say) can carry it elsewhere;
- it is masked (``***``) in everything the run hands out, like namespace secrets.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from .components import ComponentDefinition, ComponentError

__all__ = [
    "API_KEY",
    "BASE_URL",
    "PLATFORM_SECRET",
    "PlatformSetup",
    "allowed_host",
    "setting_names",
    "takes_platform_key",
    "url_field",
]

#: Instill's reserved secret name for the platform's own key.
PLATFORM_SECRET = "INSTILL_SECRET"
#: The setup fields the platform fills.
API_KEY = "api-key"
BASE_URL = "base-url"
#: Instill's endpoint field of the data components (``qdrant``, ``chroma``, ``milvus`` ...).
URL = "url"


def url_field(definition: ComponentDefinition) -> str | None:
    """The setup field that names a type's endpoint: ``base-url``, else Instill's ``url``."""
    properties = definition.setup_schema.get("properties")
    if not isinstance(properties, Mapping):
        return None
    return next((name for name in (BASE_URL, URL) if name in properties), None)


def takes_platform_key(definition: ComponentDefinition) -> bool:
    """Whether the server may hold a key (or only a base URL) for this component type."""
    properties = definition.setup_schema.get("properties")
    return isinstance(properties, Mapping) and (API_KEY in properties or url_field(definition) is not None)


def setting_names(component_type: str) -> tuple[str, str]:
    """The server settings of a type's platform key and base URL:
    ``openai`` → ``PIPELINE_OPENAI_API_KEY``, ``PIPELINE_OPENAI_BASE_URL``."""
    vendor = re.sub(r"[^A-Z0-9]+", "_", component_type.upper()).strip("_")
    return f"PIPELINE_{vendor}_API_KEY", f"PIPELINE_{vendor}_BASE_URL"


@dataclass(frozen=True)
class PlatformSetup:
    """One component type's platform settings (empty strings: not set); ``field`` is the
    setup field the base URL fills (:func:`url_field`)."""

    component_type: str
    api_key: str = ""
    base_url: str = ""
    field: str = BASE_URL

    @property
    def api_key_setting(self) -> str:
        return setting_names(self.component_type)[0]

    @property
    def base_url_setting(self) -> str:
        return setting_names(self.component_type)[1]

    def default_setup(self) -> dict[str, str]:
        """The setup of a component that gives none."""
        setup = {}
        if self.api_key:
            setup[API_KEY] = self.api_key
        if self.base_url:
            setup[self.field] = self.base_url
        return setup

    def missing_key(self) -> ComponentError:
        return ComponentError(
            f"${{secret.{PLATFORM_SECRET}}} is this server's {self.component_type} key, and none is set: "
            f"the server administrator sets {self.api_key_setting} (or the recipe names its own secret)"
        )

    def check_base_url(self, setup: Mapping[str, Any]) -> dict[str, Any]:
        """``setup`` (which uses the platform key) aimed at the platform's base URL:
        filled in when absent, refused when it names another server."""
        given = setup.get(self.field)
        out = dict(setup)
        if given in (None, ""):
            if self.base_url:
                out[self.field] = self.base_url
            return out
        if self.base_url and isinstance(given, str) and given.rstrip("/") == self.base_url.rstrip("/"):
            return out
        where = f"this server's {self.base_url_setting}" if self.base_url else "the component's default endpoint"
        raise ComponentError(
            f"setup.{self.field} cannot be set when the key is ${{secret.{PLATFORM_SECRET}}}: "
            f"the server's key is only sent to {where}; leave {self.field} out, or use a secret of your own"
        )


def allowed_host(base_url: str) -> str | None:
    """``host:port`` of a base URL, as the outbound allow lists write it."""
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return None
    return f"{host}:{port}"
