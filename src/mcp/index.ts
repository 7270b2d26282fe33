// The MCP server's tools (docs/mcp.md): served over stdio by `tidepool mcp` and at POST /mcp.
export { createMcpServer, TOOL_NAMES, MCP_MAX_WAIT_MS, type ApiCall, type ApiResponse } from './tools.ts';
