"""SFTP ingestion: sweeps campaigns' drop folders into batches for ingest (sweeping comes later)."""
