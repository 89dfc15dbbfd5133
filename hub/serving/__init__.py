"""Serving: every operation transport-free (service), who is calling (auth), fair serving as
the service sees it (fairness), uploads, server info, and the factories that wire the object
graph (app, stores)."""
