"""agentcli.models"""
