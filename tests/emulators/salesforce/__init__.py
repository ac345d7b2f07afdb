"""Salesforce REST emulator for tests and benches: `SalesforceEmulator().start()`, `salesforce_client(emu)`."""

from tests.emulators.salesforce.client import HttpsToHttpAdapter, loopback_session, salesforce_client
from tests.emulators.salesforce.server import Faults, SalesforceEmulator
from tests.emulators.salesforce.state import Org

__all__ = ["Faults", "HttpsToHttpAdapter", "Org", "SalesforceEmulator", "loopback_session", "salesforce_client"]
