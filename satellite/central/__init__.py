"""The reference Central: a lab and test stand-in for the vendor's service, correct but small."""
