"""Lead sources: each reads pages of RawSubmission and maps one to a Lead."""
