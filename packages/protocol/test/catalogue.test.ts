import { allEventDefinitions, catalogueEntries, renderCatalogue } from "@codewhale/protocol"
import { describe, expect, it } from "@effect/vitest"
import * as NodeFs from "node:fs"
import * as NodePath from "node:path"

const fixtures = NodePath.join(import.meta.dirname, "fixtures/event-schemas")
const docs = NodePath.join(import.meta.dirname, "../../../docs/events.md")

describe("event catalogue", () => {
  it("every registered event version has a frozen JSON Schema that has not changed", () => {
    for (const entry of catalogueEntries(allEventDefinitions)) {
      const file = NodePath.join(fixtures, entry.fixture)
      expect(NodeFs.existsSync(file), `missing ${entry.fixture}: run pnpm docs:generate`).toBe(true)
      expect(NodeFs.readFileSync(file, "utf8"), `${entry.fixture} changed: released versions are frozen`).toBe(entry.schemaJson)
    }
  })

  it("every frozen fixture still belongs to a registered event version", () => {
    const registered = new Set(catalogueEntries(allEventDefinitions).map((e) => e.fixture))
    const stored = NodeFs.readdirSync(fixtures).filter((f) => f.endsWith(".json"))
    expect(stored.filter((f) => !registered.has(f)), "a released event version was removed from the registry").toEqual([])
  })

  it("docs/events.md is the catalogue generated from the registry", () => {
    expect(NodeFs.readFileSync(docs, "utf8"), "docs/events.md is stale: run pnpm docs:generate").toBe(renderCatalogue(allEventDefinitions))
  })
})
