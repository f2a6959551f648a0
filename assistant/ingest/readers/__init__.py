"""One reader per format, each ``read_<format>(path, …) -> Document``; optional heavy imports stay inside them."""
