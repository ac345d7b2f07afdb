"""Find the one lead that makes a later stage fail, so it is dead-lettered alone and its batch goes on.

A batch is decided and pushed as a whole (batched CRM calls, one rotation transaction). When that
raises an error outside our taxonomy (a bug met by one odd record: a RecursionError on a deeply
nested payload, a merge or a mapping that raises), the batch is split in halves and each half is
tried again, down to single leads; a lead that still fails alone is the culprit.

Retrying a half repeats nothing that already happened: each attempt looks the CRM up afresh, so a
lead written before the failure is planned as "no change"; its round-robin turn was committed with
its ledger row, so it comes back pinned to the same owner instead of taking a new turn.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from typing import TypeVar

from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError

from connectors.errors import FatalError, RetriableError

T = TypeVar("T")
L = TypeVar("L")

# Failures of the environment, not of a record: splitting the batch would blame innocent leads.
ENVIRONMENT_ERRORS: tuple[type[BaseException], ...] = (
    RetriableError, FatalError, OperationalError, InterfaceError, DisconnectionError, sqlite3.OperationalError,
)


class StageError(Exception):
    """An unexpected failure while `stage` ran on a group of leads; `cause` is the original error."""

    def __init__(self, stage: str, cause: Exception) -> None:
        super().__init__(f"{stage}: {type(cause).__name__}")
        self.stage = stage
        self.cause = cause

    @property
    def code(self) -> str:
        return str(getattr(self.cause, "code", "") or type(self.cause).__name__)[:100]


class Stages:
    """Names the stage running now, so a failure can say where it happened."""

    def __init__(self) -> None:
        self.current = "start"

    def run(self, stage: str, step: Callable[[], T]) -> T:
        self.current = stage
        try:
            return step()
        except ENVIRONMENT_ERRORS:
            raise
        except Exception as exc:
            raise StageError(stage, exc) from exc


def push_isolating(leads: Sequence[L], push: Callable[[list[L]], list[T]],
                   give_up: Callable[[L, StageError], None]) -> tuple[list[T], int]:
    """push(part) for the whole batch, splitting on StageError until each failure is one lead.

    Returns what the successful pushes returned, and how many leads were given up.
    """
    results: list[T] = []
    given_up = 0
    parts: list[list[L]] = [list(leads)]
    while parts:
        part = parts.pop()
        try:
            results += push(part)
        except StageError as failure:
            if len(part) == 1:
                give_up(part[0], failure)
                given_up += 1
                continue
            middle = len(part) // 2
            parts += [part[middle:], part[:middle]]  # the first half is tried first
    return results, given_up
