"""Pillar over the Model Context Protocol (issue 17): one registry of tools built on the services the API calls, with
the API's own pydantic models as their schemas; served as streamable HTTP at /mcp and over stdio (`pillar mcp`)."""
