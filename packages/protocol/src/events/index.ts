/**
 * Every event type Codewhale TS records, in one list: the registry, the generated catalogue
 * (`docs/events.md`) and the frozen JSON Schema fixtures are all built from it.
 */
import type { AnyEventDefinition } from "../EventRegistry.ts"
import { approvalEventDefinitions } from "./approval.ts"
import { hookEventDefinitions } from "./hook.ts"
import { toolEventDefinitions } from "./tool.ts"
import { mcpEventDefinitions } from "./mcp.ts"
import { allJobEventDefinitions } from "./job.ts"
import { threadEventDefinitions } from "./thread.ts"

/** Every registered event definition, grouped by domain. */
export const allEventDefinitions: ReadonlyArray<AnyEventDefinition> = [
  ...toolEventDefinitions,
  ...approvalEventDefinitions,
  ...hookEventDefinitions,
  ...mcpEventDefinitions,
  ...allJobEventDefinitions,
  ...threadEventDefinitions
]
