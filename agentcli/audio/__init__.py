"""agentcli.audio"""
