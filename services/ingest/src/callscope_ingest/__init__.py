"""Ingest: accepts call audio, stores it in S3 and owns each call's status."""
