"""`leadsync receive`: the webhook receiver, with speed-to-lead processing after each stored submission."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Annotated

import typer

from connectors.errors import ConfigError
from flows.cli.common import (
    ConfigOption,
    clean_errors,
    config_path,
    console,
    prefect_logging,
    require_prefect_server,
    run_logs_to_api_only,
    tracking_wanted,
)
from flows.cli.run_cmd import TrackOption


def register(app: typer.Typer) -> None:
    app.command()(receive)


@clean_errors
def receive(config: ConfigOption = None,
            host: Annotated[str | None, typer.Option(help="Interface to bind (default: receiver.host).")] = None,
            port: Annotated[int | None, typer.Option(help="Port (default: receiver.port).", min=1,
                                                     max=65535)] = None,
            process: Annotated[bool, typer.Option(help="Decide and push each submission at once (speed to "
                                                  "lead); off: leave it for the scheduled run.")] = True,
            prefect: TrackOption = None) -> None:
    """Run the webhook receiver: each submission is stored in the inbox before the sender gets a 2xx.

    With tracking (PREFECT_API_URL or --prefect) the processing after a submission runs as a
    `leadsync-process` flow run; without, it runs in this process and is logged here.
    """
    import uvicorn

    from connectors.sources.webhooks import WebhookSource
    from flows.pipeline.run import run_sync
    from flows.pipeline.runtime import build_runtime
    from flows.receiver import DebouncedTrigger, create_app

    path = config_path(config)
    tracked = process and tracking_wanted(prefect)
    if tracked:
        require_prefect_server("leadsync receive --prefect")
        prefect_logging()
    runtime = build_runtime(path)
    hooks = {name: s for name, s in runtime.sources.items() if isinstance(s, WebhookSource)}
    if not hooks:
        runtime.close()
        raise ConfigError("no webhook sources (web_form, typeform, google_ads, meta_webhook, webflow, json, "
                          "segment, sendgrid) in the config")
    settings = runtime.loaded.config.receiver
    host, port = host or settings.host, port or settings.port
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("flows.receiver").setLevel(logging.INFO)
    console.print(f"receiving on http://{host}:{port}/<kind>/<name> for {', '.join(hooks)}"
                  + (" (processing tracked in Prefect)" if tracked else ""), highlight=False)
    work: Callable[[], object]
    if tracked:
        from flows.sync import process_flow

        run_logs_to_api_only()
        work = lambda: process_flow(str(runtime.loaded.path), return_state=True)  # noqa: E731
    else:
        log = logging.getLogger("flows.receiver.process")

        def work() -> None:
            summary = run_sync(runtime, capture=False)
            log.info("processed %d rows: %s, %d dead-lettered, %d merged, %d spam, %d back in the inbox",
                     summary.claimed, dict(summary.outcomes), len(summary.rejections), summary.merged,
                     summary.spam, summary.requeued)
    trigger = DebouncedTrigger(work) if process else None
    try:
        uvicorn.run(create_app(runtime.store, hooks, settings.max_body_bytes, trigger.poke if trigger else None),
                    host=host, port=port, log_level="warning")
    finally:
        if trigger:
            trigger.stop()
        runtime.close()
