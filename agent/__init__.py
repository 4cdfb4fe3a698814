"""The Kimi-VL desktop agent: the loop, the policy, model backends, trajectories and the CLI."""

__version__ = "0.1.0"
