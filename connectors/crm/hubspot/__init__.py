"""HubSpot CRM sink (hubspot-api-client < 13).

The sink is imported on first use: the config model is needed by every command, the client
(~0.25 s to import) only when HubSpot is the configured CRM.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from connectors.crm.hubspot.config import HubSpotConfig, HubSpotCredentials

if TYPE_CHECKING:
    from connectors.crm.hubspot.sink import HubSpotSink

__all__ = ["HubSpotConfig", "HubSpotCredentials", "HubSpotSink"]


def __getattr__(name: str) -> Any:
    if name == "HubSpotSink":
        from connectors.crm.hubspot.sink import HubSpotSink

        return HubSpotSink
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
