"""CCV Shop: the webshop's REST API (HMAC-signed, paged, rate-limited) with orders, invoices and webhooks."""
