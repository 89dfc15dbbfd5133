"""Observability in one place, fed by the other layers: Prometheus metrics (telemetry,
collectors), one log line per request (request_log, logs) and OpenTelemetry spans (tracing,
a leaf that every layer may import)."""
