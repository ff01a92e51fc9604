"""The ``cofre`` command: thin, it parses arguments and calls a service, the esdk or a server."""
