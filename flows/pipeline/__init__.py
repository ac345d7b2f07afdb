"""Plain functions for the two stages; the Prefect flows in flows/sync.py only wrap them."""
