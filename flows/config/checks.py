"""What `leadsync validate` checks beyond the schema: what a run would otherwise hit first.

Every problem is one line `file:line: yaml.path: message`: owners and queues the CRM does not
have, source files that do not exist, secrets that do not resolve. Staff addresses are shown
as they are (they are configuration, not lead data); secret values never appear.
"""

from __future__ import annotations

import glob
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from connectors.crm.local import LocalCrmConfig
from connectors.errors import ConfigError
from connectors.redaction import register_staff_addresses
from connectors.yaml_lines import YamlDocument, YamlSyntaxError, parse_yaml
from flows.config.loader import LoadedConfig

_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_BLOCK_REF = re.compile(r"^prefect-secret:([a-z0-9][a-z0-9-]*)$")
FILE_SOURCES = ("csv", "form_files")


@dataclass(frozen=True)
class RoutingName:
    kind: str  # owner | queue
    name: str
    where: str  # file:line: yaml.path


def _read(path: Path) -> YamlDocument | None:
    try:
        return parse_yaml(path.read_text(encoding="utf-8"), str(path))
    except (OSError, UnicodeDecodeError, YamlSyntaxError):
        return None  # the loader already reported it


def routing_names(rules_path: Path) -> list[RoutingName]:
    """Every owner and queue the rules name, with where it is written."""
    doc = _read(rules_path)
    routing = doc.data.get("routing") if doc and isinstance(doc.data, dict) else None
    if doc is None or not isinstance(routing, dict):
        return []
    found: list[RoutingName] = []
    for team, spec in (routing.get("teams") or {}).items():
        members = spec.get("members") if isinstance(spec, dict) else None
        names = members.items() if isinstance(members, dict) else enumerate(members or [])
        for key, value in names:
            email = key if isinstance(members, dict) else value
            found.append(RoutingName("owner", str(email), doc.where(("routing", "teams", team, "members", key))))
    targets: list[tuple[tuple[str | int, ...], Any]] = [(("routing", "rules", i, "assign"), rule.get("assign"))
               for i, rule in enumerate(routing.get("rules") or []) if isinstance(rule, dict)]
    targets.append((("routing", "default"), routing.get("default")))
    for path, assign in targets:
        if isinstance(assign, dict):
            for kind in ("owner", "queue"):
                if isinstance(assign.get(kind), str):
                    found.append(RoutingName(kind, assign[kind], doc.where((*path, kind))))
    register_staff_addresses(r.name for r in found if r.kind == "owner")
    return found


def unknown_local_names(loaded: LoadedConfig) -> list[str]:
    """Owners and queues the rules name that the local CRM (its users and queues in the config) lacks."""
    crm = loaded.config.crm
    if not isinstance(crm, LocalCrmConfig):
        return []
    active = {u.email.lower() for u in crm.users if u.active}
    inactive = {u.email.lower() for u in crm.users if not u.active}
    problems = []
    for ref in routing_names(loaded.rules_path):
        if ref.kind == "owner" and ref.name.lower() not in active:
            why = "is an inactive user" if ref.name.lower() in inactive else "is not a user"
            problems.append(f"{ref.where}: owner {ref.name} {why} of the local CRM (crm.users in {loaded.path})")
        elif ref.kind == "queue" and ref.name not in crm.queues:
            problems.append(f"{ref.where}: queue '{ref.name}' is not in crm.queues of {loaded.path}")
    doc = _read(loaded.path)
    for index, account in enumerate(crm.accounts):
        if account.owner and account.owner.lower() not in active and doc is not None:
            problems.append(f"{doc.where(('crm', 'accounts', index, 'owner'))}: account owner {account.owner} "
                            "is not an active user of the local CRM")
    return problems


def locate_crm_problems(exc: ConfigError, rules_path: Path) -> list[str]:
    """Put file, line and path on the CRM's 'unknown owner/queue' answers (Salesforce, HubSpot)."""
    refs = routing_names(rules_path)
    located = []
    for problem in exc.problems or [str(exc)]:
        where = [r.where for r in refs if r.name and (f"'{r.name}'" in problem or f"'{r.name.lower()}'" in problem)]
        located.append(f"{where[0]}: {problem}" if where else problem)
    return located


def _strings(node: Any, path: tuple[str | int, ...] = ()) -> Iterator[tuple[tuple[str | int, ...], str]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _strings(value, (*path, str(key)))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _strings(value, (*path, index))
    elif isinstance(node, str):
        yield path, node


def unresolved_secrets(loaded: LoadedConfig, check_blocks: bool = True) -> list[str]:
    """${VAR} references whose variable is unset, and Secret blocks that do not load (or need a server)."""
    doc = _read(loaded.path)
    if doc is None:
        return []
    problems = []
    for path, value in _strings(doc.data):
        for name in _ENV_REF.findall(value):
            if not os.environ.get(name):
                problems.append(f"{doc.where(path)}: environment variable {name} is not set")
        block = _BLOCK_REF.match(value)
        if block and check_blocks:
            problem = _block_problem(block.group(1))
            if problem:
                problems.append(f"{doc.where(path)}: {problem}")
    return problems


def _block_problem(name: str) -> str | None:
    from flows.config.secrets import resolve_secret

    try:
        resolve_secret(f"prefect-secret:{name}", f"Prefect Secret block {name}")
    except ConfigError as exc:
        return str(exc)
    return None


def missing_source_files(loaded: LoadedConfig) -> list[str]:
    doc = _read(loaded.path)
    problems = []
    for index, entry in enumerate(loaded.config.sources):
        path = getattr(entry, "path", None)
        if entry.type in FILE_SOURCES and isinstance(path, str) and not glob.glob(str(loaded.resolve(path))):
            where = doc.where(("sources", index, "path")) if doc else str(loaded.path)
            problems.append(f"{where}: no file matches {loaded.resolve(path)} (source {entry.type}:{entry.name})")
    return problems


def deep_check(loaded: LoadedConfig) -> list[str]:
    """Everything validate can check without touching a source or the CRM."""
    return [*unresolved_secrets(loaded), *missing_source_files(loaded), *unknown_local_names(loaded)]
