// The @a2a-js/sdk 1.3.0 client, talking to one agent through the gateway.
// Usage: A2A_JS_DIR=<dir holding node_modules/@a2a-js/sdk> node client.mjs AGENT_URL {send|stream}
// Resolves the card at AGENT_URL/.well-known/agent-card.json, sends (or streams) one message,
// then gets the task again by the id it was given. Prints one JSON line per result.
import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import path from 'node:path';

// The SDK is installed under .ci/cache, not next to this script.
const require = createRequire(path.join(process.env.A2A_JS_DIR ?? '.', 'package.json'));
const { ClientFactory } = require('@a2a-js/sdk/client');

const [url, mode] = process.argv.slice(2);
// The card path is resolved against the origin, so give the full card URL of the agent.
const client = await new ClientFactory().createFromUrl(`${url}/.well-known/agent-card.json`, '');
const message = {
  messageId: randomUUID(),
  contextId: '',
  taskId: '',
  role: 1, // ROLE_USER
  parts: [{ content: { $case: 'text', value: 'hello gateway' }, metadata: undefined, filename: '', mediaType: '' }],
  metadata: undefined,
  extensions: [],
  referenceTaskIds: [],
};
const request = { tenant: '', message, configuration: undefined, metadata: undefined };
const print = (kind, value) => console.log(JSON.stringify({ kind, value }));
let taskId;
const note = (v) => {
  const found = JSON.stringify(v).match(/"(?:id|taskId)":"(g\d+\.[^"]+)"/);
  if (found && !taskId) taskId = found[1];
};
if (mode === 'stream') {
  for await (const event of client.sendMessageStream(request)) {
    print('event', event);
    note(event);
  }
} else {
  const result = await client.sendMessage(request);
  print('event', result);
  note(result);
}
const task = await client.getTask({ tenant: '', id: taskId, historyLength: undefined });
print('task', task);
