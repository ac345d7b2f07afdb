"""CRM sinks: Salesforce, HubSpot and the embedded local SQLite CRM share one interface."""
