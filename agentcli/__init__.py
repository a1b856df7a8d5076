"""agentcli: a command-line voice assistant toolkit."""

__version__ = "0.1.0"
