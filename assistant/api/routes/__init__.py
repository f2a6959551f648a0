"""The API's routers, each a thin wrapper over the one ``Assistant``."""
