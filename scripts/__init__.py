"""Developer commands that read synthesized output; standard library only, not part of the app."""
