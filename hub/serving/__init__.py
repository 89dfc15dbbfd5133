"""Serving: every operation transport-free (service), who is calling (auth), batching, uploads,
settings and the factories that wire the object graph."""
