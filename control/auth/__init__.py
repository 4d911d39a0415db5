"""Authentication and authorization: users, service clients, API keys, tokens, roles."""
