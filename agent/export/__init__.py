"""Trajectories as fine-tuning data (ShareGPT conversations, grounding points)."""

from agent.export.datasets import ExportReport, export_dataset, find_episodes

__all__ = ["ExportReport", "export_dataset", "find_episodes"]
