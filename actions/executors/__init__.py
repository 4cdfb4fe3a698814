"""Executors perform typed actions whose points are already in screen space."""
