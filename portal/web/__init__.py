"""The web stack: the app factory, the ASGI middleware, validation, error translation, rate
limits, upload parsing, the request log and the published spec."""
