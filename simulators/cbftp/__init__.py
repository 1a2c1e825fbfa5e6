"""Centraal Boekhuis: the FTPS server with its rulebook, order processing and UBL service invoices."""
