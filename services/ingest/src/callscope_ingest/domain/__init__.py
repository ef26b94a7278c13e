"""Ingest's pure rules: upload validation, call status transitions, metadata."""
