"""Ingest's gRPC servicer and Kafka subscriptions."""
