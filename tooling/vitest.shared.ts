import { defineProject } from "vitest/config"

/**
 * Shared vitest project settings: resolve workspace packages to their TypeScript sources (the
 * `@codewhale/source` export condition, named so that no dependency's own `source` export matches).
 */
export const project = (name: string) =>
  defineProject({
    resolve: { conditions: ["@codewhale/source"] },
    ssr: { resolve: { conditions: ["@codewhale/source"] } },
    test: {
      name,
      include: ["test/**/*.test.ts"],
      testTimeout: 60_000,
      hookTimeout: 60_000
    }
  })
