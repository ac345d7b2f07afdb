"""Secret references in the config: `${ENV_VAR}` or `prefect-secret:<block name>`, never the value itself.

Resolved only here in flows/, right before a connector is built, and registered with the
redactor so the value can never reach a log line, an exception or the state store.
"""

from __future__ import annotations

import os
import re
from typing import Annotated

from pydantic import AfterValidator

from connectors.errors import ConfigError
from connectors.redaction import register_secret

_ENV = re.compile(r"^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$")
_BLOCK = re.compile(r"^prefect-secret:([a-z0-9][a-z0-9-]*)$")


def _check_reference(value: str) -> str:
    if _ENV.match(value) or _BLOCK.match(value):
        return value
    raise ValueError("secrets are not written in the config: use ${ENV_VAR} or prefect-secret:<block-name>")


SecretRef = Annotated[str, AfterValidator(_check_reference)]


def resolve_secret(reference: str, what: str) -> str:
    """Return the secret's value; a missing variable or block is a ConfigError naming `what`, not the value."""
    env = _ENV.match(reference)
    if env:
        value = os.environ.get(env.group(1))
        if not value:
            raise ConfigError(f"{what}: environment variable {env.group(1)} is not set")
        register_secret(value)
        return value
    block = _BLOCK.match(reference)
    if block:
        value = _load_prefect_secret(block.group(1), what)
        register_secret(value)
        return value
    raise ConfigError(f"{what}: not a secret reference")


def _load_prefect_secret(name: str, what: str) -> str:
    from prefect.blocks.system import Secret  # only here: Prefect Secret blocks are optional
    from prefect.settings import PREFECT_API_URL

    if not PREFECT_API_URL.value():  # else Prefect would start a temporary server (7-13 s) behind our back
        raise ConfigError(f"{what}: prefect-secret:{name} needs a Prefect server: set PREFECT_API_URL "
                          "(or use ${ENV_VAR})")
    try:
        secret: Secret[str] = Secret.load(name)  # type: ignore[assignment]  # sync_compatible: a block here
    except (ValueError, RuntimeError) as exc:
        raise ConfigError(f"{what}: Prefect Secret block '{name}' could not be loaded ({type(exc).__name__})") from None
    value = secret.get()
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{what}: Prefect Secret block '{name}' is empty or not a string")
    return value


_ENV_ANYWHERE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def expand_env_refs(text: str, what: str) -> str:
    """Replace every ${VAR} inside `text` (e.g. a database URL's password) and register the values as secrets."""

    def value_of(match: re.Match[str]) -> str:
        value = os.environ.get(match.group(1))
        if value is None:
            raise ConfigError(f"{what}: environment variable {match.group(1)} is not set")
        register_secret(value)
        return value

    return _ENV_ANYWHERE.sub(value_of, text)
