"""Getting a case to people: who receives it (routing), the outbox, escalation, failures and alerts."""
