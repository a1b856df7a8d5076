"""Pick the model adapter for an agent from its provider's `api`."""

from __future__ import annotations

from agentcli.models.base import Model
from agentcli.spec.model import AgentSpec


def make_model(
    agent: AgentSpec, *, model: str | None = None, base_url: str | None = None, api_key: str | None = None
) -> Model:
    """The agent's model (Responses or Chat Completions). Raises ModelError when no key is set for
    OpenAI itself. `model` overrides the agent's model name (--model)."""
    from agentcli.models.client import make_client, resolve_api_key, resolve_base_url

    provider = agent.provider
    url = resolve_base_url(provider, base_url)
    key = resolve_api_key(provider, url, api_key)
    client = make_client(provider, base_url=url, api_key=key)
    if provider.api == "chat":
        from agentcli.models.chat_completions import ChatCompletionsModel as Adapter
    else:
        from agentcli.models.responses import ResponsesModel as Adapter  # type: ignore[assignment]
    return Adapter(
        client,
        url=url,
        api_key_env=provider.api_key_env,
        api_key=key,
        model=model or agent.model,
        idle_timeout=provider.timeout,
    )
