"""Ingest's adapters to MongoDB, S3, Kafka and ffprobe."""
