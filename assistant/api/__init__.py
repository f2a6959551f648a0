"""The HTTP API: ``create_app(settings)`` builds the FastAPI app that ``assistant serve`` runs."""

from assistant.api.app import create_app

__all__ = ["create_app"]
