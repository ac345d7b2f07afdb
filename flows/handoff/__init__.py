"""Follow-through after a lead is handed to a rep: hand-offs, outbox delivery, SLA checks, nurture cadence."""
