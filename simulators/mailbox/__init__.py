"""A test mailbox: an SMTP server that keeps every message it is handed, readable through the admin API."""
