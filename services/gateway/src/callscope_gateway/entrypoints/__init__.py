"""The gateway's HTTP routes and its Directory gRPC servicer."""
