"""agentcli.sim"""
