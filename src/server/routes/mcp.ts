// /mcp: the MCP server over streamable HTTP (stateless: one MCP server and transport per
// request, answers as JSON). Each tool call is injected into this server's own HTTP
// routes with the caller's Authorization header, so keys, tenants, validation, limits
// and answers are exactly the HTTP API's.
import { createRequire } from 'node:module';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { createMcpServer } from '../../mcp/index.ts';
import type { ApiCall } from '../../mcp/index.ts';
import { errorBody } from '../errors.ts';

const version = (createRequire(import.meta.url)('../../../package.json') as { version: string }).version;

function injectedCall(app: FastifyInstance, req: FastifyRequest): ApiCall {
  const authorization = req.headers.authorization;
  return async (method, path, body) => {
    const res = await app.inject({
      method,
      url: path,
      headers: { ...(authorization ? { authorization } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { payload: JSON.stringify(body) } : {}),
    });
    let parsed: unknown = res.body;
    try {
      parsed = JSON.parse(res.body);
    } catch {
      // not JSON: the text goes into the tool error
    }
    return { status: res.statusCode, body: parsed };
  };
}

export function registerMcpRoutes(app: FastifyInstance): void {
  app.post('/mcp', { schema: { hide: true } }, async (req, reply) => {
    const server = createMcpServer(injectedCall(app, req), version);
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    reply.hijack();
    reply.raw.on('close', () => {
      void transport.close().catch(() => {});
      void server.close().catch(() => {});
    });
    try {
      await server.connect(transport);
      await transport.handleRequest(req.raw, reply.raw, req.body);
    } catch (err) {
      req.log.error({ err }, 'mcp request failed');
      if (!reply.raw.headersSent) {
        reply.raw.writeHead(500, { 'content-type': 'application/json' });
        reply.raw.end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32603, message: 'internal error; the server log has the details' }, id: null }));
      }
    }
  });
  // Stateless: no server-initiated stream and no session to end.
  const notAllowed = async (_req: FastifyRequest, reply: import('fastify').FastifyReply) =>
    reply.code(405).header('allow', 'POST').send(errorBody('MethodNotAllowed', '/mcp is stateless streamable HTTP: send MCP requests with POST'));
  app.get('/mcp', { schema: { hide: true } }, notAllowed);
  app.delete('/mcp', { schema: { hide: true } }, notAllowed);
}
