import { defineProject } from "vitest/config"

/** Shared vitest project settings: resolve workspace packages to their TypeScript sources. */
export const project = (name: string) =>
  defineProject({
    resolve: { conditions: ["source"] },
    ssr: { resolve: { conditions: ["source"] } },
    test: {
      name,
      include: ["test/**/*.test.ts"],
      testTimeout: 60_000,
      hookTimeout: 60_000
    }
  })
