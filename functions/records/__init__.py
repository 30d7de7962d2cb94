"""The medical record: documents, their upload and verification, and who reads them."""
