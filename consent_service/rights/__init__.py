"""Holders' rights under GDPR: access and portability (Art. 15, 20) and erasure (Art. 17)."""
