"""`--watch`: a live page of the episodes a `run` or `eval` is writing, read from their folders."""
