"""Generated gRPC and protobuf code for protos/hub/api/v1 (`make protos`; do not edit)."""
