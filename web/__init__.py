"""The HTTP edge: Falcon ASGI app, middleware, resources, schemas, OpenAPI."""
