"""Server-rendered pages for holders (and their representatives): see router.py."""
