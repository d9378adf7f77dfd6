"""Consulta: online agenda, booking and teleconsultation for health practices."""

__version__ = "0.1.0"
