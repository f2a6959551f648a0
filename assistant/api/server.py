"""Running the app under uvicorn with a bounded, draining shutdown (``assistant serve``)."""

from __future__ import annotations

import asyncio
import math
import socket
from collections.abc import Callable
from types import FrameType

import uvicorn

from assistant.api.app import begin_shutdown, create_app
from assistant.core.settings import Settings


def run(settings: Settings) -> None:
    """Serve until SIGTERM or Ctrl-C; then drain within ``shutdown_grace`` seconds and exit."""
    app = create_app(settings)
    # the app stops running answers after the grace period; uvicorn's own time-out is the last resort
    config = uvicorn.Config(app, host=settings.host, port=settings.port, log_level="info",
                            timeout_graceful_shutdown=math.ceil(settings.shutdown_grace) + 2)
    DrainingServer(config, on_exit=lambda: begin_shutdown(app)).run()


class DrainingServer(uvicorn.Server):
    """uvicorn that also tells the app when SIGTERM (or Ctrl-C) arrives, so that answers waiting
    for a model are sent away at once and running ones get a grace period, not minutes."""

    def __init__(self, config: uvicorn.Config, on_exit: Callable[[], None]) -> None:
        super().__init__(config)
        self._on_exit = on_exit
        self._loop: asyncio.AbstractEventLoop | None = None

    async def serve(self, sockets: list[socket.socket] | None = None) -> None:
        self._loop = asyncio.get_running_loop()
        await super().serve(sockets)

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if not self.should_exit and self._loop is not None:
            # a signal handler interrupts the loop's thread anywhere: run the app's part as a callback
            self._loop.call_soon_threadsafe(self._on_exit)
        super().handle_exit(sig, frame)
