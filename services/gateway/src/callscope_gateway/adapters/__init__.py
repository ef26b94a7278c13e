"""The gateway's adapters: MongoDB directory, gRPC clients, streaming multipart."""
