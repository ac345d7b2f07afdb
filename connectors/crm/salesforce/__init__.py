"""Salesforce CRM sink (simple-salesforce): Leads, Contacts, Campaigns, Users and Queues."""

from connectors.crm.salesforce.client import ClientFactory, login_factory
from connectors.crm.salesforce.config import SalesforceConfig, SalesforceCredentials
from connectors.crm.salesforce.sink import SalesforceSink

__all__ = ["ClientFactory", "SalesforceConfig", "SalesforceCredentials", "SalesforceSink", "login_factory"]
