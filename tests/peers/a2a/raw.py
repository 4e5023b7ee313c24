"""Raw HTTP requests to an A2A endpoint, answers reported as they came.

Usage: python raw.py BASE_URL < cases.json
Reads a JSON list of {"method", "path", "headers"?, "body"?} from stdin; sends each to
BASE_URL + path with httpx and prints one JSON line per case: {"status", "type" ("json",
"sse" or the Content-Type), "body"} where "body" is the JSON body, or the list of the
stream's data events (each parsed as JSON). Exits non-zero on a transport failure.
"""

import asyncio
import json
import sys

import httpx


async def main() -> None:
    base = sys.argv[1].rstrip('/')
    cases = json.load(sys.stdin)
    async with httpx.AsyncClient(timeout=30) as http:
        for case in cases:
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
            print(json.dumps({'status': res.status_code, 'type': kind, 'body': body}), flush=True)


if __name__ == '__main__':
    asyncio.run(main())
