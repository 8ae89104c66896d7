"""Sample-ratio-mismatch check: scheduled Lambda."""
