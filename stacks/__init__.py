"""Deployable units: one stack per configured endpoint."""
