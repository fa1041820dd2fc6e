// The official TypeScript MCP client against the gateway, with a key sent as Cursor sends it.
// Usage: node client.mjs URL KEY HIDDEN_TOOL
// Prints one JSON line: the tools it sees, the result of calling a hidden tool, and of a session id reused by
// another key (when the server hands out sessions).
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

const [url, key, hiddenTool] = process.argv.slice(2);

async function connect(headers, sessionId) {
  const transport = new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers }, sessionId });
  const client = new Client({ name: "ts-client-test", version: "0.0.0" });
  await client.connect(transport);
  return { client, transport };
}

const report = {};
const { client, transport } = await connect({ Authorization: `Bearer ${key}` });
const tools = [];
let cursor;
do {
  const page = await client.listTools(cursor ? { cursor } : {});
  tools.push(...page.tools.map((tool) => tool.name));
  cursor = page.nextCursor;
} while (cursor);
report.tools = tools.sort();
try {
  const result = await client.callTool({ name: hiddenTool, arguments: {} });
  report.hidden = { result };
} catch (error) {
  report.hidden = { code: error.code, message: String(error.message) };
}
try {
  const result = await client.callTool({ name: "no-such-tool-anywhere", arguments: {} });
  report.unknown = { result };
} catch (error) {
  report.unknown = { code: error.code, message: String(error.message) };
}
report.sessionId = transport.sessionId ?? null;
await client.close();
console.log(JSON.stringify(report));
