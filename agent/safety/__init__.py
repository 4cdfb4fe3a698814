"""Safety guards for the agent loop: an action policy, confirmation, budgets, runaway detection, a panic key."""

from agent.safety.confirm import Confirmer, ConfirmMode, Terminal
from agent.safety.guards import EpisodeGuard, Guards, Review
from agent.safety.panic import DEFAULT_PANIC_KEY, PanicKey, PanicKeyError, PanicSignal
from agent.safety.rules import (
    DEFAULT_POLICY, SANDBOX_POLICY, Policy, PolicyError, Rule, default_policy, load_policy, sandbox_policy,
)
from agent.safety.runaway import RunawayConfig, RunawayMode

__all__ = [
    "DEFAULT_PANIC_KEY",
    "DEFAULT_POLICY",
    "SANDBOX_POLICY",
    "ConfirmMode",
    "Confirmer",
    "EpisodeGuard",
    "Guards",
    "PanicKey",
    "PanicKeyError",
    "PanicSignal",
    "Policy",
    "PolicyError",
    "Review",
    "Rule",
    "RunawayConfig",
    "RunawayMode",
    "Terminal",
    "default_policy",
    "load_policy",
    "sandbox_policy",
]
