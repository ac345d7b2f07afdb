"""The `leadsync` command. Every error is one clear line and an exit code, never a traceback.

Each command group lives in its own module with a `register(app)` function; to add a command,
write flows/cli/<group>_cmd.py and list it in COMMAND_MODULES below (see docs/operations.md).
Command modules import heavy things (Prefect, vendor clients) inside the command, so
`leadsync --help` and an untracked `leadsync run` start fast.
"""

from __future__ import annotations

from importlib import import_module
from typing import Annotated

import typer

from flows.cli.common import EXIT_CODES_HELP, console, run_app

COMMAND_MODULES = ("validate_cmd", "run_cmd", "deploy_cmd", "receive_cmd", "dead_letters_cmd", "data_cmd",
                   "prune_cmd", "rescore_cmd", "insights_cmd", "sla_cmd")

app = typer.Typer(help="leadsync: capture leads, decide with YAML rules, push to your CRM.",
                  epilog=EXIT_CODES_HELP, no_args_is_help=True, pretty_exceptions_enable=False,
                  add_completion=False)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version  # ~40 ms: only for --version

        try:
            console.print(f"leadsync {version('leadsync')}", highlight=False)
        except PackageNotFoundError:
            console.print("leadsync (not installed as a package)")
        raise typer.Exit()


@app.callback()
def _root(show_version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                                     help="Print the leadsync version and exit.")] = False) -> None:
    """leadsync: capture leads, decide with YAML rules, push to your CRM."""


for _module in COMMAND_MODULES:
    import_module(f"flows.cli.{_module}").register(app)


def main() -> None:
    run_app(app)


if __name__ == "__main__":
    main()
