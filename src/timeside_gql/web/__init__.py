"""The browser pages served by the server: the playground (self-hosted GraphiQL) and the player.

Their sources live in ``web/`` at the top of the repository; ``make web`` builds them into
``static/`` here, committed, so a Python install serves them without Node.
"""
