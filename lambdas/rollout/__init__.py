"""Guarded progressive rollout between endpoint variants."""
