/**
 * Writes `docs/events.md` and the frozen JSON Schema fixture of every new event version.
 * An existing fixture is never overwritten: a released version is frozen. `--check` writes nothing
 * and exits non-zero when anything is stale.
 */
import { allEventDefinitions, catalogueEntries, renderCatalogue } from "@codewhale/protocol"
import * as NodeFs from "node:fs"
import * as NodePath from "node:path"
import * as NodeUrl from "node:url"

const root = NodePath.resolve(NodePath.dirname(NodeUrl.fileURLToPath(import.meta.url)), "../..")
const fixtures = NodePath.join(root, "packages/protocol/test/fixtures/event-schemas")
const docs = NodePath.join(root, "docs/events.md")
const check = process.argv.includes("--check")
const problems: Array<string> = []

NodeFs.mkdirSync(fixtures, { recursive: true })
for (const entry of catalogueEntries(allEventDefinitions)) {
  const file = NodePath.join(fixtures, entry.fixture)
  if (!NodeFs.existsSync(file)) {
    if (check) problems.push(`missing fixture ${entry.fixture}`)
    else NodeFs.writeFileSync(file, entry.schemaJson)
  } else if (NodeFs.readFileSync(file, "utf8") !== entry.schemaJson) {
    problems.push(`${entry.type} v${entry.version} changed after release: add a new version with evolveEvent instead`)
  }
}
const markdown = renderCatalogue(allEventDefinitions)
const current = NodeFs.existsSync(docs) ? NodeFs.readFileSync(docs, "utf8") : ""
if (current !== markdown) {
  if (check) problems.push("docs/events.md is stale")
  else NodeFs.writeFileSync(docs, markdown)
}
for (const p of problems) process.stderr.write(`${p}\n`)
process.exit(problems.length === 0 ? 0 : 1)
