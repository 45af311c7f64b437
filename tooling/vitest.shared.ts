import { defineProject } from "vitest/config"

/**
 * Shared vitest project settings: resolve workspace packages to their TypeScript sources (the
 * `source` export condition). Some dependencies publish a `source` export too (the MCP SDK's
 * `eventsource-parser`), so vite transforms those instead of handing them to Node.
 */
export const project = (name: string) =>
  defineProject({
    resolve: { conditions: ["source"] },
    ssr: { resolve: { conditions: ["source"] } },
    test: {
      name,
      include: ["test/**/*.test.ts"],
      testTimeout: 60_000,
      hookTimeout: 60_000,
      server: { deps: { inline: [/@modelcontextprotocol\/sdk/, /eventsource-parser/] } }
    }
  })
