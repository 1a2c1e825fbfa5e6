"""The VIES simulator: the EU VAT number check (checkVat, checkVatApprox) as SOAP 1.1 over HTTP."""
