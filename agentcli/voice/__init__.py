"""agentcli.voice"""
