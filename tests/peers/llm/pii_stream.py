"""Streams one answer through the agent-gateway LLM front with the real openai and anthropic
Python clients, and prints as one JSON line the text each client assembled.

Run by tests/tests/pii_streams.rs, which serves the gateway with the PII filter applied to
every response. Usage: python pii_stream.py http://127.0.0.1:PORT
"""

import json
import sys

import anthropic
import openai

USER = [{"role": "user", "content": "Say it"}]


def main(base):
    oai = openai.OpenAI(base_url=f"{base}/v1", api_key="sk-client", max_retries=0)
    ant = anthropic.Anthropic(base_url=base, api_key="sk-client", max_retries=0)
    chunks = list(oai.chat.completions.create(model="m", messages=USER, stream=True))
    chat = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    with ant.messages.stream(model="m", max_tokens=64, messages=USER) as stream:
        messages = "".join(stream.text_stream)
        final = stream.get_final_message().content[0].text
    responses = ""
    for event in oai.responses.create(model="m", input="Say it", stream=True):
        if event.type == "response.completed":
            responses = event.response.output_text
    print(json.dumps({"chat": chat, "anthropic": messages, "anthropic_final": final,
                      "responses": responses}))


if __name__ == "__main__":
    main(sys.argv[1])
