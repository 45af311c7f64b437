import { mergeConfig } from "vitest/config"
import { project } from "../../tooling/vitest.shared.ts"

// The shared `source` resolve condition also matches `eventsource-parser` (a dependency of the MCP
// SDK's Streamable HTTP client), whose `source` export is TypeScript: let vite transform both.
export default mergeConfig(project("cli"), {
  test: { server: { deps: { inline: [/@modelcontextprotocol\/sdk/, /eventsource-parser/] } } }
})
