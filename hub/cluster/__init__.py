"""Scale-out on Ray Serve (the optional ``ray`` extra): many hub replicas behind Serve's gRPC
proxy, calls routed by adapter (docs/architecture.md, "Scaling out")."""
