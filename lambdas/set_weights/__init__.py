"""Set-weights Lambda for pipelines and operators."""
