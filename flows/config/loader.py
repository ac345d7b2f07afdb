"""Read leadsync.yaml: every problem reported at once, each with file, line and YAML path."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from connectors.crm.local import LocalCrmConfig
from connectors.errors import ConfigError
from connectors.redaction import register_staff_addresses
from connectors.yaml_lines import YamlDocument, YamlSyntaxError, parse_yaml
from flows.config.models import AppConfig


@dataclass(frozen=True)
class LoadedConfig:
    config: AppConfig
    path: Path

    @property
    def base_dir(self) -> Path:
        return self.path.parent

    def resolve(self, relative: str) -> Path:
        """Paths in the config are relative to the config file, wherever leadsync runs from."""
        candidate = Path(relative)
        return candidate if candidate.is_absolute() else self.base_dir / candidate

    @property
    def rules_path(self) -> Path:
        return self.resolve(self.config.rules)


def validation_problems(exc: ValidationError, doc: YamlDocument) -> list[str]:
    """Turn pydantic errors into 'file:line: yaml.path: message' lines."""
    problems = []
    for error in exc.errors():
        loc = _yaml_path(error["loc"], doc.data)
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = "unknown setting (check the spelling)"
        problems.append(f"{doc.where(loc)}: {message}")
    return problems


def _yaml_path(loc: tuple[int | str, ...], data: Any) -> list[int | str]:
    """pydantic puts a tagged union's tag (the `type` value) into the location; YAML has no such level."""
    path: list[int | str] = []
    node = data
    for part in loc:
        if isinstance(node, dict) and part not in node and node.get("type") == part:
            continue
        path.append(part)
        if isinstance(node, dict):
            node = node.get(part)
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
        else:
            node = None
    return path


def parse_config(text: str, filename: str) -> AppConfig:
    try:
        doc = parse_yaml(text, filename)
    except YamlSyntaxError as exc:
        raise ConfigError("the config file is not valid YAML", [str(exc)]) from None
    if not isinstance(doc.data, dict):
        raise ConfigError("the config file is invalid", [f"{filename}:1: (top level): expected a mapping of settings"])
    try:
        return AppConfig.model_validate(doc.data)
    except ValidationError as exc:
        raise ConfigError(f"{filename} has {exc.error_count()} error(s)", validation_problems(exc, doc)) from None


def load_config(path: str | Path) -> LoadedConfig:
    config_path = Path(path)
    try:
        text = config_path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {config_path}") from None
    except (IsADirectoryError, PermissionError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read config file {config_path}: {type(exc).__name__}") from None
    loaded = LoadedConfig(config=parse_config(text, str(config_path)), path=config_path.resolve())
    if isinstance(loaded.config.crm, LocalCrmConfig):  # reps are named in errors: staff, not lead data
        register_staff_addresses([u.email for u in loaded.config.crm.users]
                                 + [a.owner for a in loaded.config.crm.accounts if a.owner])
    _check_paths(loaded)
    return loaded


def _check_paths(loaded: LoadedConfig) -> None:
    if not loaded.rules_path.is_file():
        raise ConfigError(f"{loaded.path}: rules file not found: {loaded.rules_path}")


def dump_for_display(config: AppConfig) -> dict[str, Any]:
    return config.model_dump(mode="json")
