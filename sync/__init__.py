"""The store (append-only signed log with derived views) and the reconciliation protocol."""
