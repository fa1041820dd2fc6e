// The official TypeScript MCP client's view of a server's prompts and resources.
// Usage: node prompts_resources.mjs URL
// Prints one JSON line: every prompt, resource and resource template listed (all pages), every prompt got with
// a value for each of its required arguments, the first resource read, and the first template read with each
// of its variables filled in.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

const [url] = process.argv.slice(2);

async function listAll(list, field) {
  const items = [];
  let cursor;
  do {
    const page = await list(cursor ? { cursor } : {});
    items.push(...page[field]);
    cursor = page.nextCursor;
  } while (cursor);
  return items;
}

const client = new Client({ name: "ts-prompts-resources-test", version: "0.0.0" });
await client.connect(new StreamableHTTPClientTransport(new URL(url)));

const report = {};
report.prompts = await listAll((params) => client.listPrompts(params), "prompts");
report.got = {};
for (const prompt of report.prompts) {
  const args = Object.fromEntries(
    (prompt.arguments ?? []).filter((argument) => argument.required).map((argument) => [argument.name, `${argument.name}-value`]),
  );
  report.got[prompt.name] = { arguments: args, result: await client.getPrompt({ name: prompt.name, arguments: args }) };
}
report.resources = await listAll((params) => client.listResources(params), "resources");
report.read = await client.readResource({ uri: report.resources[0].uri });
report.templates = await listAll((params) => client.listResourceTemplates(params), "resourceTemplates");
const templateUri = report.templates[0].uriTemplate.replace(/\{(\w+)\}/g, (_, variable) => `${variable}-42`);
report.templateRead = await client.readResource({ uri: templateUri });
await client.close();
console.log(JSON.stringify(report));
