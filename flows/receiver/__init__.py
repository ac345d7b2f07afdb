"""The webhook receiver (Starlette on uvicorn; both come with Prefect)."""

from flows.receiver.app import create_app

__all__ = ["create_app"]
