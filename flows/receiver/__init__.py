"""The webhook receiver (Starlette on uvicorn; both come with Prefect)."""

from flows.receiver.app import create_app
from flows.receiver.trigger import DebouncedTrigger

__all__ = ["DebouncedTrigger", "create_app"]
