"""Evaluation metrics that need neither Qt nor torch (event metrics via sed_eval)."""
