"""Remote VMs that speak OSWorld's (and WindowsAgentArena's) VM-server protocol: a typed client,
an environment on top of it, and a compatible server of our own."""
