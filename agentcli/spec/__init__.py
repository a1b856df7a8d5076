"""agentcli.spec"""
