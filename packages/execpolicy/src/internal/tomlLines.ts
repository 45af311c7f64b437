/**
 * Finds the line of a layer, a prefix list or a rule (and one of its keys) in policy TOML text, so
 * that load errors can name it. Scans table headers (`[user]`, `[[user.rules]]`) and keys; inline
 * tables fall back to the line of the key that holds them.
 */
import type { RulesetLayer } from "../Decision.ts"

const HEADER = /^\s*(\[\[?)\s*([A-Za-z0-9_."' -]+?)\s*\]\]?\s*(?:#.*)?$/
const KEY = (key: string) => new RegExp(`^\\s*(?:"${key}"|'${key}'|${key})\\s*=`)

const clean = (name: string): string => name.replace(/["'\s]/g, "")

/** 1-based line of `[layer]` / `[[layer.rules]]` number `index` / `key` inside it, or null. */
export const locateInToml = (
  source: string,
  layer: string,
  field: string | null,
  index: number | null,
  key: string | null
): number | null => {
  const lines = source.split(/\r?\n/)
  let table = ""
  let arrayCount = -1
  let found: number | null = null
  let inTarget = false
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!
    const h = HEADER.exec(line)
    if (h) {
      const name = clean(h[2]!)
      const isArray = h[1] === "[["
      if (inTarget && key !== null) return found
      inTarget = false
      table = name
      if (field === "rules" && isArray && name === `${layer}.rules`) {
        arrayCount++
        if (arrayCount === index) {
          found = i + 1
          inTarget = true
          if (key === null) return found
        }
      } else if (field === null && name === layer) {
        return i + 1
      } else if (!isArray && name === layer && field !== null && field !== "rules") {
        inTarget = true
        found = i + 1
      }
      continue
    }
    if (inTarget && field !== "rules" && field !== null && KEY(field).test(line)) return i + 1
    if (inTarget && field === "rules" && key !== null && KEY(key).test(line)) return i + 1
    if (field !== null && table === "" && KEY(`${layer}\\.${field}`).test(line)) return i + 1
    if (field === "rules" && table === layer && KEY("rules").test(line) && found === null) found = i + 1
  }
  return found
}

/** A locator for compiled rules: `file:line` strings. */
export const tomlLocator = (file: string, source: string) =>
(layer: RulesetLayer, field: string, index: number): string | null => {
  const line = locateInToml(source, layer, field, field === "rules" ? index : null, null)
  return line === null ? file : `${file}:${line}`
}
