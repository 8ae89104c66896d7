"""Reusable constructs for A/B testing models on SageMaker multi-variant endpoints.

Constructs take typed, keyword-only props and never import from ``stacks/``.
"""
