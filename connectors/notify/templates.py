"""Message templates (Jinja2) from a folder, e.g. config/templates: `<purpose>.subject.j2`,
`<purpose>.txt.j2` (e-mail) and `<purpose>.slack.j2` (Slack mrkdwn, values escaped)."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

from jinja2 import (
    BytecodeCache,
    Environment,
    FileSystemBytecodeCache,
    FileSystemLoader,
    StrictUndefined,
    TemplateNotFound,
)
from jinja2.bccache import Bucket

from connectors.errors import ConfigError
from connectors.notify.message import Notice, Rendered

PURPOSES = ("handoff", "reminder", "escalation", "digest")


def slack_escape(value: Any) -> Any:
    """Slack mrkdwn control characters (&, <, >) in values; the template's own markup stays."""
    if isinstance(value, str):
        return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return value


class _BestEffortCache(FileSystemBytecodeCache):
    """Jinja2's compiled-template cache (keyed by the source's checksum, in a private temp folder).

    Every run checks all twelve templates before touching a source; compiling them costs ~30 ms of
    each run's start-up, loading them from this cache ~1 ms. A cache that cannot be written only
    costs that compile again, never the run.
    """

    def dump_bytecode(self, bucket: Bucket) -> None:
        with contextlib.suppress(OSError):
            super().dump_bytecode(bucket)


def _bytecode_cache() -> BytecodeCache | None:
    try:
        return _BestEffortCache()
    except (OSError, RuntimeError):  # no private temp folder could be made: compile every time
        return None


class Templates:
    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        loader = FileSystemLoader(str(self.folder))
        cache = _bytecode_cache()
        self._text = Environment(loader=loader, undefined=StrictUndefined, autoescape=False,  # noqa: S701
                                 keep_trailing_newline=False, trim_blocks=True, lstrip_blocks=True,
                                 bytecode_cache=cache)
        self._slack = Environment(loader=loader, undefined=StrictUndefined, autoescape=False,  # noqa: S701
                                  trim_blocks=True, lstrip_blocks=True, finalize=slack_escape, bytecode_cache=cache)

    def check(self) -> list[str]:
        """Missing or broken templates, for config validation before any source is touched."""
        problems: list[str] = []
        for purpose in PURPOSES:
            for suffix, env in (("subject", self._text), ("txt", self._text), ("slack", self._slack)):
                name = f"{purpose}.{suffix}.j2"
                try:
                    env.get_template(name)
                except TemplateNotFound:
                    problems.append(f"{self.folder / name}: template missing")
                except Exception as exc:  # noqa: BLE001 - a syntax error names its line
                    problems.append(f"{self.folder / name}: {exc}")
        return problems

    def render(self, notice: Notice) -> Rendered:
        context = {"purpose": notice.purpose, "items": notice.items, "lead": notice.items[0] if notice.items else {},
                   "count": len(notice.items)}
        try:
            subject = self._text.get_template(f"{notice.purpose}.subject.j2").render(context)
            text = self._text.get_template(f"{notice.purpose}.txt.j2").render(context)
            slack = self._slack.get_template(f"{notice.purpose}.slack.j2").render(context)
        except TemplateNotFound as exc:
            raise ConfigError(f"notification template {exc.name} is missing in {self.folder}") from None
        links = [str(item["link"]) for item in notice.items if item.get("link")]
        return Rendered(subject=" ".join(subject.split())[:200], text=text.strip() + "\n", slack_text=slack.strip(),
                        links=links)
