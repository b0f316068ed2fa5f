"""The web app for members' phones, served by the node over its own Wi-Fi (issue 16)."""
