"""Raw HTTP requests to an A2A endpoint, answers reported as they came.

Usage: python raw.py BASE_URL < cases.json
Reads a JSON list of {"method", "path", "headers"?, "body"?, "save"?} from stdin; sends each to
BASE_URL + path with httpx and prints one JSON line per case: {"status", "type" ("json",
"sse" or the Content-Type), "body"} where "body" is the JSON body, or the list of the
stream's data events (each parsed as JSON). "save" names values of the answer for later
cases: {"task": "/result/task/id"} keeps the string at that JSON pointer of the body (of the
first event for a stream) as "task"; "{task}" in a later case's path or in any string of its
body is replaced by it. Exits non-zero on a transport failure, or when a value to save is
missing.
"""

import asyncio
import json
import sys

import httpx


def pointer(doc, path):
    for key in path.split('/')[1:]:
        doc = doc[int(key)] if isinstance(doc, list) else doc[key]
    return doc


def fill(value, saved):
    if isinstance(value, str):
        for name, v in saved.items():
            value = value.replace('{' + name + '}', v)
        return value
    if isinstance(value, list):
        return [fill(v, saved) for v in value]
    if isinstance(value, dict):
        return {k: fill(v, saved) for k, v in value.items()}
    return value


async def main() -> None:
    base = sys.argv[1].rstrip('/')
    cases = json.load(sys.stdin)
    saved = {}
    async with httpx.AsyncClient(timeout=30) as http:
        for case in cases:
            case = fill(case, saved)
            kwargs = {'headers': case.get('headers', {})}
            if 'body' in case:
                kwargs['content'] = json.dumps(case['body'])
                kwargs['headers'].setdefault('content-type', 'application/json')
            res = await http.request(case['method'], base + case['path'], **kwargs)
            ctype = res.headers.get('content-type', '').split(';')[0].strip()
            if ctype == 'text/event-stream':
                kind = 'sse'
                body = [json.loads(l[len('data:'):]) for l in res.text.splitlines() if l.startswith('data:')]
            elif ctype in ('application/json', 'application/a2a+json'):
                kind = 'json'
                body = res.json()
            else:
                kind, body = ctype, res.text
            for name, path in case.get('save', {}).items():
                doc = body[0] if kind == 'sse' else body
                saved[name] = pointer(doc, path)
            print(json.dumps({'status': res.status_code, 'type': kind, 'body': body}), flush=True)


if __name__ == '__main__':
    asyncio.run(main())
