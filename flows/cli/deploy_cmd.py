"""`leadsync deploy` (a deployment on a work pool, from prefect.yaml) and `leadsync serve` (one process)."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Annotated, Any

import typer

from connectors.errors import ConfigError
from flows.cli.common import ConfigOption, clean_errors, config_path, console, prefect_logging, require_prefect_server

CronOption = Annotated[str | None, typer.Option(help="Cron schedule (overrides the config).")]
IntervalOption = Annotated[int | None, typer.Option(help="Interval in seconds (overrides the config).")]


def register(app: typer.Typer) -> None:
    app.command()(deploy)
    app.command()(serve)


def schedule_of(path: str, cron: str | None, interval: int | None) -> tuple[str | None, int | None]:
    from flows.config import load_config

    schedule = load_config(path).config.schedule
    cron = cron or (schedule.cron if schedule and interval is None else None)
    interval = interval or (schedule.interval_seconds if schedule and cron is None else None)
    if not cron and not interval:
        raise ConfigError("no schedule: set schedule.cron or schedule.interval_seconds in the config, "
                          "or pass --cron / --interval")
    return cron, interval


def read_prefect_yaml(path: Path, name: str | None) -> dict[str, Any]:
    """The deployment entry of prefect.yaml (the first one, or the one called `name`)."""
    import yaml

    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise ConfigError(f"{path} not found (run from the leadsync folder or pass --prefect-file)") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML: {exc}") from None
    entries = [d for d in document.get("deployments") or [] if name is None or d.get("name") == name]
    if not entries:
        raise ConfigError(f"{path}: no deployment" + (f" called {name}" if name else ""))
    entry: dict[str, Any] = entries[0]
    for key in ("name", "entrypoint"):
        if not entry.get(key):
            raise ConfigError(f"{path}: deployment {entry.get('name', '?')} has no {key}")
    return entry


@clean_errors
def deploy(config: ConfigOption = None, cron: CronOption = None, interval: IntervalOption = None,
           prefect_file: Annotated[Path, typer.Option(help="The Prefect project file.")] = Path("prefect.yaml"),
           name: Annotated[str | None, typer.Option(help="Deployment name in prefect.yaml (default: first).")] = None,
           pool: Annotated[str | None, typer.Option(help="Work pool (default: prefect.yaml's).")] = None) -> None:
    """Create or update the sync deployment on a process work pool (prefect.yaml + the config's schedule).

    Then start one or more workers: prefect worker start --pool <pool>
    """
    path = str(Path(config_path(config)).resolve())
    cron, interval = schedule_of(path, cron, interval)
    entry = read_prefect_yaml(prefect_file, name)
    pool_name = pool or (entry.get("work_pool") or {}).get("name") or "leadsync"
    queue = (entry.get("work_pool") or {}).get("work_queue_name")
    require_prefect_server("leadsync deploy")
    prefect_logging()
    from prefect import Flow, flow

    ensure_process_pool(pool_name)
    source = str(prefect_file.resolve().parent)
    sync = flow.from_source(source=source, entrypoint=entry["entrypoint"])
    if not isinstance(sync, Flow):  # from_source is sync_compatible: a Flow when called outside an event loop
        raise RuntimeError("flow.from_source returned a coroutine")
    deployment_id = sync.deploy(name=entry["name"], work_pool_name=pool_name, work_queue_name=queue,
                                cron=cron, interval=interval, parameters={"config_path": path},
                                description=entry.get("description"), build=False, push=False, print_next_steps=False)
    console.print(f"deployment {entry['name']} ({deployment_id}) on work pool {pool_name}: "
                  + (f"cron {cron}" if cron else f"every {interval} s") + f"; start workers with: "
                  f"prefect worker start --pool {pool_name}", highlight=False)


def ensure_process_pool(name: str) -> None:
    """Create the work pool (type process) unless it exists."""
    import asyncio

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.exceptions import ObjectAlreadyExists

    async def create() -> None:
        async with get_client() as client:
            with contextlib.suppress(ObjectAlreadyExists):
                await client.create_work_pool(WorkPoolCreate(name=name, type="process"))

    asyncio.run(create())


@clean_errors
def serve(config: ConfigOption = None, cron: CronOption = None, interval: IntervalOption = None,
          name: Annotated[str, typer.Option(help="Deployment name.")] = "leadsync-scheduled") -> None:
    """Serve the sync flow as a scheduled deployment in this one process (no work pool; needs PREFECT_API_URL)."""
    path = str(Path(config_path(config)).resolve())
    cron, interval = schedule_of(path, cron, interval)
    require_prefect_server("leadsync serve")
    prefect_logging()
    from flows.sync import sync_flow

    console.print(f"serving {name}: " + (f"cron {cron}" if cron else f"every {interval} s"))
    sync_flow.serve(name=name, cron=cron, interval=interval, parameters={"config_path": path})
