"""agentcli.cli"""
