"""Compatibility check with the official Python `openai` package (tests only, never the product).

Usage: python3 python_client.py BASE_URL EXPECTED_12 EXPECTED_40
Prints one JSON object with what each check saw; the Node test asserts on it.
"""
import json
import sys

import openai

base, expected12, expected40 = sys.argv[1], sys.argv[2], sys.argv[3]
client = openai.OpenAI(base_url=base, api_key="unused", max_retries=0, timeout=30)
messages = [{"role": "user", "content": "Tell me a story"}]
out = {}

r = client.chat.completions.create(model="chat", messages=messages, max_tokens=12)
out["non_stream_ok"] = r.choices[0].message.content == expected12 and r.model == "chat"

text = ""
usage = None
for chunk in client.chat.completions.create(model="chat", messages=messages, max_tokens=40, stream=True, stream_options={"include_usage": True}):
    if chunk.choices:
        text += chunk.choices[0].delta.content or ""
    if chunk.usage:
        usage = chunk.usage
out["stream_ok"] = text == expected40
out["usage_ok"] = usage is not None and usage.completion_tokens == 40

reasoning = ""
for chunk in client.chat.completions.create(model="deepseek-reasoner", messages=messages, max_tokens=5, stream=True):
    if chunk.choices:
        reasoning += getattr(chunk.choices[0].delta, "reasoning_content", None) or ""
out["reasoning_ok"] = len(reasoning) > 0

tools = [{"type": "function", "function": {"name": "lookup", "parameters": {"type": "object", "properties": {}}}}]
name = ""
for chunk in client.chat.completions.create(model="chat", messages=messages, tools=tools, stream=True):
    for tc in (chunk.choices[0].delta.tool_calls or []) if chunk.choices else []:
        name += (tc.function.name or "") if tc.function else ""
out["tools_ok"] = name == "lookup"

try:
    n = 0
    for chunk in client.chat.completions.create(model="chat", messages=messages, max_tokens=40, stream=True, extra_body={"mock": {"reset_after_tokens": 7}}):
        if chunk.choices and chunk.choices[0].delta.content:
            n += 1
    out["reset_error"] = "no error after %d tokens" % n
except openai.APIError as e:
    out["reset_error"] = "APIError after %d tokens: %s" % (n, e.message)

# Last: a 429 makes the gateway rest that upstream account for Retry-After seconds.
try:
    client.chat.completions.create(model="chat", messages=messages, extra_body={"mock": {"status": 429, "retry_after_s": 3}})
    out["rate_limit_error"] = "no error"
except openai.RateLimitError as e:
    out["rate_limit_error"] = "RateLimitError:" + str(e.response.headers.get("retry-after"))
except Exception as e:  # noqa: BLE001 - report whatever else happened
    out["rate_limit_error"] = type(e).__name__

print(json.dumps(out))
