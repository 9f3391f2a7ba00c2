"""Provenance: the licence carried inside the media as a C2PA manifest (docs/provenance.md)."""
