"""Entrypoints: the Kafka subscriptions and the gRPC `Analyses` servicer."""
