"""Shared by the Lambdas: pure weight validation, the SageMaker calls that apply weights, the
DeclaredWeight metric, and per-variant CloudWatch queries."""
