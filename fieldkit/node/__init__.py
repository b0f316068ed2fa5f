"""The node service: links, sync sessions, the domain and the SMS service, wired by an event bus."""
