"""Thin transports into the handlers: the Kafka subscriptions and the gRPC servicer."""
