"""Per-variant quality on live traffic: SageMaker data capture joined with late ground-truth labels."""
