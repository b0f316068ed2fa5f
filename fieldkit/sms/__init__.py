"""SMS for people with basic phones: command grammar, subscribers, limits, replies, the service."""
