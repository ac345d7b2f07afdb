"""Salesforce CRM sink (simple-salesforce): Leads, Contacts, Campaigns, Users and Queues.

The client and sink are imported on first use: the config model is needed by every command,
simple-salesforce (~0.3 s to import) only when Salesforce is the configured CRM.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from connectors.crm.salesforce.config import SalesforceConfig, SalesforceCredentials

if TYPE_CHECKING:
    from connectors.crm.salesforce.client import ClientFactory, login_factory
    from connectors.crm.salesforce.sink import SalesforceSink

__all__ = ["ClientFactory", "SalesforceConfig", "SalesforceCredentials", "SalesforceSink", "login_factory"]


def __getattr__(name: str) -> Any:
    if name in ("ClientFactory", "login_factory"):
        from connectors.crm.salesforce import client

        return getattr(client, name)
    if name == "SalesforceSink":
        from connectors.crm.salesforce.sink import SalesforceSink

        return SalesforceSink
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
