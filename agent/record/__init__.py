"""Recording a human demonstration as a trajectory: X input events grouped into typed actions."""
