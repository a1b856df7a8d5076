"""agentcli.runtime"""
