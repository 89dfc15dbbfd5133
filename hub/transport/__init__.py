"""The gRPC transport: the only package (with the generated hub.api) that imports grpc."""
