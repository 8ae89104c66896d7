"""Shared by the weight Lambdas: pure validation, and the SageMaker calls that apply weights."""
