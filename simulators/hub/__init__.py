"""The communication hub as a runtime component (its logic is the client in clients/hub)."""
