"""The wire contract: generated code (adapter_hub_client.api.v1)."""
