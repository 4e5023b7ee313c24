// The TypeScript MCP SDK client (@modelcontextprotocol/sdk, pinned in .ci/peers), talking to one
// endpoint over streamable HTTP.
// Usage: MCP_JS_DIR=<dir holding node_modules/@modelcontextprotocol/sdk> node ts_client.mjs URL CALLS
// CALLS is a JSON array of [tool, arguments]. Lists the tools, makes each call, and prints one
// JSON line: {"protocolVersion": ..., "tools": [names],
// "calls": [{"content": [texts], "isError": bool, "progress": [[progress, total], ...]}]}.
import { createRequire } from 'node:module';
import path from 'node:path';

// The SDK is installed under .ci/cache, not next to this script.
const require = createRequire(path.join(process.env.MCP_JS_DIR ?? '.', 'package.json'));
const { Client } = require('@modelcontextprotocol/sdk/client/index.js');
const { StreamableHTTPClientTransport } = require('@modelcontextprotocol/sdk/client/streamableHttp.js');

const [url, callsJson] = process.argv.slice(2);
const client = new Client({ name: 'ts-peer', version: '1.0.0' });
const transport = new StreamableHTTPClientTransport(new URL(url));
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
  const result = await client.callTool({ name, arguments: args }, undefined, {
    onprogress: (p) => progress.push([p.progress, p.total]),
  });
  calls.push({
    content: result.content.filter((c) => c.type === 'text').map((c) => c.text),
    isError: Boolean(result.isError),
    progress,
  });
}
console.log(JSON.stringify({ protocolVersion: transport.protocolVersion, tools, calls }));
await client.close();
