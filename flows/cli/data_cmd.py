"""`leadsync export` (the local CRM as CSV) and `leadsync schema` (JSON Schema of the rules YAML)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from connectors.errors import ConfigError
from flows.cli.common import ConfigOption, clean_errors, config_path, console


def register(app: typer.Typer) -> None:
    app.command()(export)
    app.command()(schema)


def _writable(out: Path) -> Path:
    """Create the folder of `out` if needed; a path that cannot be written is a clear error."""
    if out.is_dir():
        raise ConfigError(f"{out} is a folder: give a file name, e.g. {out / 'leads.csv'}")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"cannot create the folder {out.parent}: {exc.strerror}") from None
    return out


@clean_errors
def export(out: Annotated[Path, typer.Argument(help="CSV file to write (its folder is created).")],
           config: ConfigOption = None) -> None:
    """Export every lead of the local CRM to CSV."""
    from connectors.crm.local import LocalCrmSink
    from flows.config import load_config
    from flows.pipeline.runtime import build_sink

    sink = build_sink(load_config(config_path(config)))
    try:
        if not isinstance(sink, LocalCrmSink):
            raise ConfigError("export works on the local CRM; your CRM has its own export")
        try:
            rows = sink.export_csv(_writable(out))
        except OSError as exc:
            raise ConfigError(f"cannot write {out}: {exc.strerror}") from None
    finally:
        sink.close()
    console.print(f"wrote {rows} leads to {out}", highlight=False)


@clean_errors
def schema(out: Annotated[Path | None, typer.Argument(help="Where to write the JSON Schema (default: "
                                                      "rules.schema.json next to the config).")] = None,
           config: ConfigOption = None) -> None:
    """Write the JSON Schema of the rules YAML (editors use it to autocomplete and check rules)."""
    import json

    from rules import json_schema

    target = out or Path(config_path(config)).resolve().parent / "rules.schema.json"
    try:
        _writable(target).write_text(json.dumps(json_schema(), indent=2) + "\n", encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot write {target}: {exc.strerror}") from None
    console.print(f"wrote {target}", highlight=False)
