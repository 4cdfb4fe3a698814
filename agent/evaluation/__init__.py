"""`eval`: run a suite of OSWorld-format tasks, score each honestly, store and report the results."""
