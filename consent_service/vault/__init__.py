"""Reference-data vault: de-identified, encrypted likeness data (images, audio, video)."""
