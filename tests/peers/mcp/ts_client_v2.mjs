// The TypeScript MCP SDK v2 client (@modelcontextprotocol/client, pinned in .ci/peers), talking to
// one endpoint over streamable HTTP in the era MODE selects.
// Usage: MCP_JS_DIR=<dir holding node_modules/@modelcontextprotocol/client> \
//   node ts_client_v2.mjs URL MODE CALLS
// MODE is the SDK's version negotiation: "legacy" (initialize handshake), "auto" (server/discover,
// then fall back), or a modern version such as "2026-07-28" (pinned: server/discover must offer
// it, no fallback). CALLS is a JSON array of [tool, arguments]. Lists the tools, makes each call,
// and prints one JSON line: {"protocolVersion": ..., "era": "modern"|"legacy", "tools": [names],
// "calls": [{"content": [texts], "isError": bool, "progress": [[progress, total], ...]}],
// "sent": [[method, MCP-Protocol-Version header, _meta protocolVersion], ...]} where `sent` is
// every JSON-RPC message the client POSTed (null for what was absent).
import { createRequire } from 'node:module';
import path from 'node:path';

// The SDK is installed under .ci/cache, not next to this script.
const require = createRequire(path.join(process.env.MCP_JS_DIR ?? '.', 'package.json'));
const { Client, StreamableHTTPClientTransport, PROTOCOL_VERSION_META_KEY } = require(
  '@modelcontextprotocol/client',
);

const [url, mode, callsJson] = process.argv.slice(2);
const negotiation = mode === 'legacy' || mode === 'auto' ? mode : { pin: mode };

// What went on the wire, as the client sent it.
const sent = [];
const recordingFetch = async (input, init) => {
  if (init?.method === 'POST' && typeof init.body === 'string') {
    const headers = new Headers(init.headers);
    const message = JSON.parse(init.body);
    sent.push([
      message.method ?? null,
      headers.get('mcp-protocol-version'),
      message.params?._meta?.[PROTOCOL_VERSION_META_KEY] ?? null,
    ]);
  }
  return fetch(input, init);
};

const client = new Client(
  { name: 'ts-peer-v2', version: '1.0.0' },
  { versionNegotiation: { mode: negotiation } },
);
const transport = new StreamableHTTPClientTransport(new URL(url), { fetch: recordingFetch });
await client.connect(transport);
const tools = [];
let cursor;
do {
  const page = await client.listTools(cursor ? { cursor } : {});
  tools.push(...page.tools.map((t) => t.name));
  cursor = page.nextCursor;
} while (cursor);
const calls = [];
for (const [name, args] of JSON.parse(callsJson)) {
  // Asking for progress makes the SDK send a progress token; what arrives is recorded.
  const progress = [];
  const result = await client.callTool({ name, arguments: args }, {
    onprogress: (p) => progress.push([p.progress, p.total]),
  });
  calls.push({
    content: result.content.filter((c) => c.type === 'text').map((c) => c.text),
    isError: Boolean(result.isError),
    progress,
  });
}
console.log(JSON.stringify({
  protocolVersion: client.getNegotiatedProtocolVersion(),
  era: client.getProtocolEra(),
  tools,
  calls,
  sent,
}));
await client.close();
