"""HubSpot CRM emulator for tests and benches: `HubSpotEmulator().start()`; `.url` is the client's host."""

from tests.emulators.hubspot.server import HubSpotEmulator

__all__ = ["HubSpotEmulator"]
