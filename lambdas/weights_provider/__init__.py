"""Weights custom resource handlers (on_event, is_complete)."""
