"""Model backends: the chat wire types, an OpenAI-compatible client, vLLM (server and offline) and the scripted stand-in."""
