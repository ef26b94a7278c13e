"""Adapters: MongoDB storage and the gRPC clients of the peers analysis reads from."""
