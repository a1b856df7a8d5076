"""agentcli.tracing"""
