"""The official Python openai client runs a batch through Spillway: upload, create, poll, download.

Usage: python_batch.py BASE_URL N
Prints one JSON object: what the client saw (status, counts, the custom_ids and answers of the output lines).
"""
import io
import json
import sys
import time

from openai import OpenAI

base_url, n = sys.argv[1], int(sys.argv[2])
client = OpenAI(base_url=base_url, api_key="unused", max_retries=0)
lines = [
    json.dumps({"custom_id": f"py-{i}", "method": "POST", "url": "/v1/chat/completions",
                "body": {"model": "chat", "messages": [{"role": "user", "content": f"python item {i}"}], "max_tokens": 3}})
    for i in range(n)
]
f = client.files.create(file=("input.jsonl", io.BytesIO("\n".join(lines).encode())), purpose="batch")
b = client.batches.create(input_file_id=f.id, endpoint="/v1/chat/completions", completion_window="24h")
for _ in range(600):
    b = client.batches.retrieve(b.id)
    if b.status in ("completed", "failed", "expired", "cancelled"):
        break
    time.sleep(0.05)
out = client.files.content(b.output_file_id).text if b.output_file_id else ""
answers = {}
for line in out.strip().split("\n"):
    o = json.loads(line)
    answers[o["custom_id"]] = o["response"]["body"]["choices"][0]["message"]["content"]
print(json.dumps({
    "status": b.status,
    "counts": {"total": b.request_counts.total, "completed": b.request_counts.completed, "failed": b.request_counts.failed},
    "answers": answers,
}))
