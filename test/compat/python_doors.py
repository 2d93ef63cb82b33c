"""The other doors with the official Python packages (tests only, never the product): `anthropic` on the Messages
door, `openai` on the Responses door.

Usage: python3 python_doors.py GATEWAY_URL EXPECTED_12 EXPECTED_16
Prints one JSON object with what each check saw; the Node test asserts on it.
"""
import json
import sys

import anthropic
import openai

base, expected12, expected16 = sys.argv[1], sys.argv[2], sys.argv[3]
out = {}

claude = anthropic.Anthropic(base_url=base, api_key="unused", max_retries=0, timeout=30)
ask = {"model": "chat", "max_tokens": 12, "messages": [{"role": "user", "content": "Tell me a story"}]}
m = claude.messages.create(**ask)
out["messages_create"] = m.content[0].text == expected12 and m.stop_reason == "max_tokens"
with claude.messages.stream(**ask) as stream:
    text = "".join(stream.text_stream)
out["messages_stream"] = text == expected12
try:
    claude.messages.create(model="no-such-model", max_tokens=5, messages=[{"role": "user", "content": "hi"}])
    out["messages_error"] = "no error"
except anthropic.NotFoundError as e:
    out["messages_error"] = f"NotFoundError:{e.status_code}:{e.body['error']['type']}"

client = openai.OpenAI(base_url=f"{base}/v1", api_key="unused", max_retries=0, timeout=30)
r = client.responses.create(model="chat", input="Tell me a story")
out["responses_create"] = r.output_text == expected16 and r.status == "completed"
streamed = ""
for event in client.responses.create(model="chat", input="Tell me a story", stream=True):
    if event.type == "response.output_text.delta":
        streamed += event.delta
out["responses_stream"] = streamed == expected16

print(json.dumps(out))
