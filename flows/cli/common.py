"""What every command shares: consoles, the --config option, exit codes and the one-line error wrapper."""

from __future__ import annotations

import functools
import json
import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, ParamSpec, TypeVar

import typer
from rich.console import Console
from typer._click.exceptions import ClickException, NoArgsIsHelpError, UsageError  # typer vendors click

from connectors.errors import ConfigError, LeadsyncError
from connectors.redaction import redact
from flows.settings import LeadsyncSettings

if TYPE_CHECKING:
    from flows.state import StateStore

P = ParamSpec("P")
R = TypeVar("R")

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_CONFIG = 2
EXIT_BUG = 3
EXIT_INTERRUPTED = 130
EXIT_CODES_HELP = (f"Exit codes: {EXIT_OK} ok; {EXIT_FAILED} the run failed (a source or the CRM push failed, "
                   f"or the run stopped early); {EXIT_CONFIG} bad config, rules or arguments; "
                   f"{EXIT_BUG} unexpected error (a bug: please report it); {EXIT_INTERRUPTED} interrupted.")

ConfigOption = Annotated[str | None, typer.Option("--config", "-c", help="leadsync YAML (env LEADSYNC_CONFIG).")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout instead of tables.")]


def make_console(stderr: bool = False) -> Console:
    """A terminal gets rich output at its width; a pipe or file gets long lines, never wrapped at 80 columns."""
    probe = Console(stderr=stderr)
    if probe.is_terminal:
        return probe
    return Console(stderr=stderr, width=100_000, soft_wrap=True)


console = make_console()
err = make_console(stderr=True)


def config_path(config: str | None) -> str:
    return config or LeadsyncSettings().config


def open_store(config: str | None) -> StateStore:
    """The state store the config names, upgraded to the current schema."""
    from flows.config import load_config
    from flows.pipeline.runtime import resolve_state_url
    from flows.state import StateStore

    store = StateStore(resolve_state_url(load_config(config_path(config))))
    store.create_schema()
    return store


def error_line(message: object) -> None:
    err.print(f"[red]error:[/red] {redact(message)}", highlight=False, soft_wrap=True, markup=True)


def print_json(document: Any) -> None:
    """Machine-readable output: one JSON document on stdout, nothing else there."""
    sys.stdout.write(json.dumps(document, indent=2, default=str) + "\n")


def prefect_logging() -> None:
    """INFO and above reach the Prefect API (the UI's run logs); the console shows only LEADSYNC_LOG_LEVEL.

    Set before Prefect is imported: Prefect reads its logging settings at import time.
    """
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "INFO")
    os.environ.setdefault("PREFECT_LOGGING_TO_API_ENABLED", "true")
    os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", LeadsyncSettings().log_level)


def run_logs_to_api_only() -> None:
    """Flow and task run logs (the run's own INFO/ERROR lines) go to the API, not also to the console:
    the command prints its summary and failure line itself. Call after Prefect is imported."""
    import logging

    if LeadsyncSettings().log_level.upper() in ("WARNING", "ERROR", "CRITICAL"):
        for name in ("prefect.flow_runs", "prefect.task_runs"):
            logging.getLogger(name).propagate = False


def tracking_wanted(flag: bool | None) -> bool:
    """Track runs in Prefect when asked (--prefect) or when a server is configured (PREFECT_API_URL)."""
    return flag if flag is not None else bool(os.environ.get("PREFECT_API_URL"))


def require_prefect_server(what: str) -> None:
    """Never start Prefect's temporary server behind the user's back (it costs 7-13 s per run)."""
    if not os.environ.get("PREFECT_API_URL"):
        raise UsageProblem(f"{what} needs a Prefect server: start one with `prefect server start` and set "
                           "PREFECT_API_URL=http://127.0.0.1:4200/api (or run without tracking: --no-prefect)")


class UsageProblem(Exception):
    """A wrong combination of arguments or environment: exit code 2, like a config error."""


def clean_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Turn leadsync errors into one line on stderr and an exit code."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except (ConfigError, UsageProblem) as exc:
            error_line(exc)
            raise typer.Exit(EXIT_CONFIG) from None
        except LeadsyncError as exc:
            error_line(exc)
            raise typer.Exit(EXIT_FAILED) from None
        except KeyboardInterrupt:
            err.print("interrupted: claimed leads go back to the inbox on the next run")
            raise typer.Exit(EXIT_INTERRUPTED) from None

    return wrapper


def run_app(app: typer.Typer) -> NoReturn:
    """Run the CLI; usage errors and anything unexpected become one line and a documented exit code."""
    try:
        code = app(prog_name="leadsync", standalone_mode=False)
    except NoArgsIsHelpError as exc:  # `leadsync` or a group alone: show its help, as --help would
        err.print(exc.ctx.get_help() if exc.ctx is not None else exc.format_message(), highlight=False)
        sys.exit(EXIT_CONFIG)
    except UsageError as exc:
        hint = f" (see: {exc.ctx.command_path} --help)" if exc.ctx is not None else ""
        error_line(exc.format_message() + hint)
        sys.exit(EXIT_CONFIG)
    except typer.Abort:
        err.print("interrupted")
        sys.exit(EXIT_INTERRUPTED)
    except ClickException as exc:
        error_line(exc.format_message())
        sys.exit(exc.exit_code)
    except Exception as exc:
        if LeadsyncSettings().debug:
            raise
        error_line(f"unexpected {type(exc).__name__}: {exc} (a bug: please report it; "
                   "LEADSYNC_DEBUG=1 shows the traceback)")
        sys.exit(EXIT_BUG)
    sys.exit(code if isinstance(code, int) else EXIT_OK)
