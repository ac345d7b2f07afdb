"""Reading people as sources send them: names, phone numbers, role addresses."""
