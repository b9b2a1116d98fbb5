"""The Starlette application: ``/graphql`` (the api schema over HTTP and WebSocket), media,
upload and export routes, and the one ``authenticate()`` every entrance uses."""
