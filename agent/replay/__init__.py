"""Replay: re-executing a recorded trajectory, checking each step's screen against the recorded frame."""
