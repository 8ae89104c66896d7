"""Evaluate endpoint variants on labelled data."""
