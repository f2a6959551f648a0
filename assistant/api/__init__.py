"""The HTTP API: ``create_app(settings)`` builds the FastAPI app that ``assistant serve`` runs."""

from assistant.api.app import begin_shutdown, create_app

__all__ = ["begin_shutdown", "create_app"]
