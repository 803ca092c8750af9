"""Invoice documents: JSON, Factur-X CII XML (EN 16931) and PDF/A-3, rendered from the issued invoices."""
