"""`kimi-agent`: one module per command group; `agent.cli.app` holds the entry point."""
