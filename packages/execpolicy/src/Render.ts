import { decisionWord, type ExecPolicyDecision } from "./Decision.ts"
import { reason as requirementReason } from "./Decision.ts"
import type { Explanation } from "./Explanation.ts"

/** The wire shape of a decision used by `codewhale policy check --json` and `--batch`. */
export interface DecisionJson {
  readonly decision: "allow" | "ask" | "forbidden"
  readonly matched_rule: string | null
  readonly matched_action: "allow" | "ask" | "deny" | null
  readonly reason: string
  readonly proposed_amendment: ReadonlyArray<string> | null
  readonly segments: ReadonlyArray<{
    readonly command: string
    readonly kind: string
    readonly via: string
    readonly decision: "allow" | "ask" | "forbidden"
    readonly category: string
    readonly reason: string
    readonly matched_rule: string | null
  }>
}

/** Converts an explanation to the CLI/batch JSON shape. */
export const decisionJson = (e: Explanation): DecisionJson => {
  const d: ExecPolicyDecision = e.decision
  const r = d.requirement
  return {
    decision: decisionWord(d),
    matched_rule: d.matchedRule,
    matched_action: d.matchedAction,
    reason: requirementReason(r),
    proposed_amendment: r._tag === "NeedsApproval" && r.proposedExecpolicyAmendment !== null
      ? r.proposedExecpolicyAmendment.prefixes
      : null,
    segments: e.segments.map((s) => ({
      command: s.text,
      kind: s.kind,
      via: s.via,
      decision: s.outcome,
      category: s.category,
      reason: s.reason,
      matched_rule: s.winner?.label ?? null
    }))
  }
}

/** A human-readable explanation, one fact per line. */
export const renderExplanation = (e: Explanation): string => {
  const lines: Array<string> = []
  const d = e.decision
  lines.push(`decision: ${decisionWord(d)}`)
  lines.push(`reason: ${requirementReason(d.requirement)}`)
  lines.push(`matched_rule: ${d.matchedRule ?? "(none)"}`)
  lines.push(`tool: ${e.tool}${e.chained ? " (chained command)" : ""}`)
  for (const u of e.uncertain) lines.push(`uncertain: ${u}`)
  for (const s of e.segments) {
    const mark = s.index === e.decidingSegment ? "*" : " "
    lines.push(`${mark} segment ${s.index} [${s.kind}, via ${s.via}${s.wrappers.length > 0 ? ` ${s.wrappers.join(" > ")}` : ""}]: ${s.text}`)
    lines.push(`    category: ${s.category} -> ${s.outcome}: ${s.reason}`)
    lines.push(`    why: ${s.why}`)
    for (const m of s.matches) {
      const won = s.winner !== null && s.winner.order === m.order && s.winner.kind === m.kind ? " (winner)" : ""
      lines.push(`    match: ${m.kind} '${m.label}' layer=${m.layer} action=${m.action} specificity=${m.specificity} ${m.certainty}${won}${m.source ? ` at ${m.source}` : ""}`)
    }
    for (const u of s.uncertain) lines.push(`    uncertain: ${u}`)
    for (const x of s.dangerous) lines.push(`    dangerous: ${x}`)
    if (s.amendment !== null) lines.push(`    amendment: ${s.amendment}`)
  }
  lines.push(`mode${e.mode.sandbox ? ` (sandbox ${e.mode.sandbox})` : ""}: ${e.mode.contribution}`)
  return lines.join("\n")
}
