"""Consulta's domain: aggregates and their events (stdlib and eventsourcing only)."""
