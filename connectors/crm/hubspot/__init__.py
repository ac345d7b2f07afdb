"""HubSpot CRM sink (hubspot-api-client < 13)."""

from connectors.crm.hubspot.config import HubSpotConfig, HubSpotCredentials
from connectors.crm.hubspot.sink import HubSpotSink

__all__ = ["HubSpotConfig", "HubSpotCredentials", "HubSpotSink"]
