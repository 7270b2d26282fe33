// `tidepool mcp [--url URL] [--key K]`: an MCP server over stdio for an agent on the same
// machine (Claude Code, Codex, any MCP client), talking to a running `tidepool start`
// over its HTTP API. Stdout carries only the protocol; diagnostics go to stderr.
import { parseArgs } from 'node:util';
import { createRequire } from 'node:module';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { createMcpServer } from '../mcp/index.ts';
import type { ApiCall } from '../mcp/index.ts';
import { DEFAULT_URL } from './client.ts';

const USAGE = 'usage: tidepool mcp [--url URL] [--key KEY]   (env TIDEPOOL_URL, default http://127.0.0.1:7700; TIDEPOOL_KEY)';

export function httpApiCall(baseUrl: string, key: string | undefined): ApiCall {
  const base = baseUrl.replace(/\/+$/, '');
  return async (method, path, body) => {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (key) headers.authorization = `Bearer ${key}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    let res: Response;
    try {
      res = await fetch(base + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      return { status: 503, body: { error: { code: 'Unavailable', message: `cannot reach the Tidepool server at ${base} (${cause?.code ?? cause?.message ?? (err as Error).message}); is \`tidepool start\` running? Set --url or TIDEPOOL_URL` } } };
    }
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // not JSON: keep the text for the error message
    }
    return { status: res.status, body: parsed };
  };
}

export async function run(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({ args: argv, options: { url: { type: 'string' }, key: { type: 'string' }, help: { type: 'boolean', short: 'h' } }, strict: true }));
  } catch (err) {
    process.stderr.write(`tidepool mcp: ${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (values.help) {
    process.stderr.write(`${USAGE}\nServes the tools submit_task, get_task, wait_task, list_tasks, cancel_task, get_task_logs, pool_status over stdio.\n`);
    return 0;
  }
  const url = values.url ?? process.env.TIDEPOOL_URL ?? DEFAULT_URL;
  const key = values.key ?? process.env.TIDEPOOL_KEY;
  const version = (createRequire(import.meta.url)('../../package.json') as { version: string }).version;
  const server = createMcpServer(httpApiCall(url, key), version);
  const transport = new StdioServerTransport();
  const closed = new Promise<void>((resolve) => {
    transport.onclose = () => resolve();
    process.stdin.once('end', () => resolve());
  });
  await server.connect(transport);
  process.stderr.write(`tidepool mcp: serving over stdio for ${url}\n`);
  await closed;
  await server.close().catch(() => {});
  return 0;
}
