"""Differential tests: our metrics against OSWorld's own evaluator code, on cases from its real tasks."""
