"""agentcli.realtime"""
