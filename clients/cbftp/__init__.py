"""Client for Centraal Boekhuis: order files (Digicom OPDNAW) over FTPS, receipts (ONTBEV) and UBL invoices."""
