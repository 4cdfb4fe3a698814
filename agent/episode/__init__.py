"""One episode: perception, the policy and its history, prompt-token arithmetic, the loop and the wiring of `run`."""
