/**
 * Every event type Codewhale TS records, in one list: the registry, the generated catalogue
 * (`docs/events.md`) and the frozen JSON Schema fixtures are all built from it.
 */
import type { AnyEventDefinition } from "../EventRegistry.ts"

/** Every registered event definition, grouped by domain. */
export const allEventDefinitions: ReadonlyArray<AnyEventDefinition> = []
