/**
 * The event catalogue: every registered event type and version with the JSON Schema of its stored
 * form, rendered as Markdown (`docs/events.md`) and as one frozen fixture per version.
 */
import { type AnyEventDefinition, eventJsonSchema } from "./EventRegistry.ts"

/** One `(type, version)` entry of the catalogue. */
export interface CatalogueEntry {
  readonly type: string
  readonly version: number
  readonly latest: boolean
  /** The fixture file name, `<type>@v<version>.json`. */
  readonly fixture: string
  /** The JSON Schema as pretty-printed JSON text (with a trailing newline). */
  readonly schemaJson: string
}

/** Every `(type, version)` of the given definitions, sorted by type then version. */
export const catalogueEntries = (definitions: ReadonlyArray<AnyEventDefinition>): ReadonlyArray<CatalogueEntry> =>
  [...definitions]
    .sort((a, b) => (a.type < b.type ? -1 : a.type > b.type ? 1 : 0))
    .flatMap((d) =>
      d.versions.map((v) => ({
        type: d.type,
        version: v.version,
        latest: v.version === d.version,
        fixture: `${d.type}@v${v.version}.json`,
        schemaJson: `${JSON.stringify(eventJsonSchema(v), null, 2)}\n`
      }))
    )

/** The Markdown catalogue of every event type and version. */
export const renderCatalogue = (definitions: ReadonlyArray<AnyEventDefinition>): string => {
  const entries = catalogueEntries(definitions)
  const lines: Array<string> = [
    "# Event catalogue",
    "",
    "Generated from the event registry (`packages/protocol/src/events`) by `pnpm docs:generate`; do not edit.",
    "A test fails when this file is stale. Released versions are frozen: change a schema by adding a version.",
    "",
    `${definitions.length} event types, ${entries.length} versions.`,
    "",
    "| event type | version | latest |",
    "|---|---|---|",
    ...entries.map((e) => `| [\`${e.type}\`](#${anchor(e)}) | ${e.version} | ${e.latest ? "yes" : "no"} |`),
    ""
  ]
  for (const e of entries) {
    lines.push(`## ${e.type} v${e.version}`, "", `<a id="${anchor(e)}"></a>`, "", "```json", e.schemaJson.trimEnd(), "```", "")
  }
  return lines.join("\n")
}

const anchor = (e: CatalogueEntry): string => `${e.type.replace(/[^a-z0-9]+/gi, "-")}-v${e.version}`.toLowerCase()
