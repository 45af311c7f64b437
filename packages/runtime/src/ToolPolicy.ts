/**
 * The policy precheck of the pipeline, on `@codewhale/execpolicy`: the configured policy plus the
 * user-policy amendments recorded in the log (each an `allow` rule for `exec_shell` in the user
 * layer), evaluated with symlink-resolved paths. The result is the seed's precheck payload.
 */
import { ExecPolicy, reason as requirementReason, phase as requirementPhase, type ExecPolicyDecision, type ExecPolicyEngine, type PolicyInput } from "@codewhale/execpolicy"
import type { AskForApproval, PolicyPrecheck } from "@codewhale/protocol"
import { Context, Effect, Layer, Ref } from "effect"
import * as NodeOs from "node:os"
import { Grants } from "./Grants.ts"
import { ToolPolicyError } from "./ToolErrors.ts"

/** What the policy is asked about. */
export interface PolicyQuestion {
  readonly command: string
  readonly cwd: string
  readonly tool: string
  readonly path: string | null
  /** More files the call touches, as its tool declares (every file of a multi-file patch). */
  readonly paths?: ReadonlyArray<string> | undefined
  readonly mode: AskForApproval
  readonly executionKind: "shell" | "tool"
}

/** The answer: the engine's decision, the seed's precheck payload and the amendments in force. */
export interface PolicyAnswer {
  readonly decision: ExecPolicyDecision
  readonly precheck: PolicyPrecheck
  readonly amendments: ReadonlyArray<string>
}

/** The seed's precheck payload of a decision. */
export const precheckOf = (decision: ExecPolicyDecision, q: PolicyQuestion): PolicyPrecheck => {
  const r = decision.requirement
  return {
    execution_kind: q.executionKind,
    command: q.command,
    cwd: q.cwd,
    allow: decision.allow,
    requires_approval: decision.requiresApproval,
    matched_rule: decision.matchedRule,
    matched_action: decision.matchedAction,
    phase: requirementPhase(r),
    reason: requirementReason(r),
    requirement: r._tag === "Skip"
      ? { type: "skip", bypass_sandbox: r.bypassSandbox, reason: requirementReason(r), proposed_execpolicy_amendment: [...(r.proposedExecpolicyAmendment?.prefixes ?? [])] }
      : r._tag === "NeedsApproval"
      ? {
        type: "needs_approval",
        reason: r.reason,
        proposed_execpolicy_amendment: [...(r.proposedExecpolicyAmendment?.prefixes ?? [])],
        proposed_network_policy_amendments: r.proposedNetworkPolicyAmendments.map((n) => ({ host: n.host, action: n.action }))
      }
      : { type: "forbidden", reason: r.reason }
  }
}

/** Adds amendments to the user layer as `allow` rules for `exec_shell`. */
export const withAmendments = (policy: PolicyInput, prefixes: ReadonlyArray<string>): PolicyInput =>
  prefixes.length === 0 ? policy : {
    ...policy,
    user: {
      ...policy.user,
      rules: [...(policy.user?.rules ?? []), ...prefixes.map((command) => ({ action: "allow" as const, tool: "exec_shell", command }))]
    }
  }

/** The policy precheck service. */
export interface ToolPolicyShape {
  readonly check: (question: PolicyQuestion) => Effect.Effect<PolicyAnswer, ToolPolicyError>
}

/** The policy precheck service. */
export class ToolPolicy extends Context.Tag("@codewhale/runtime/ToolPolicy")<ToolPolicy, ToolPolicyShape>() {
  /** Evaluates `policy` (plus the amendments in the log) with the execpolicy engine. */
  static readonly layer = (policy: PolicyInput): Layer.Layer<ToolPolicy, never, ExecPolicy | Grants> =>
    Layer.effect(
      ToolPolicy,
      Effect.gen(function*() {
        const execPolicy = yield* ExecPolicy
        const grants = yield* Grants
        const cache = yield* Ref.make<{ readonly key: string; readonly engine: ExecPolicyEngine } | null>(null)
        const engineFor = (amendments: ReadonlyArray<{ readonly amendmentId: string; readonly prefixes: ReadonlyArray<string> }>) =>
          Effect.gen(function*() {
            const key = amendments.map((a) => a.amendmentId).join(",")
            const cached = yield* Ref.get(cache)
            if (cached !== null && cached.key === key) return cached.engine
            const engine = yield* execPolicy.fromInput(withAmendments(policy, amendments.flatMap((a) => a.prefixes)), { file: "<runtime policy + amendments>" }).pipe(
              Effect.mapError((e) => new ToolPolicyError({ detail: e.message }))
            )
            yield* Ref.set(cache, { key, engine })
            return engine
          })
        return {
          check: (q) =>
            Effect.gen(function*() {
              const amendments = yield* grants.listAmendments().pipe(Effect.mapError((e) => new ToolPolicyError({ detail: `cannot read amendments: ${e.message}` })))
              const engine = yield* engineFor(amendments)
              const ctx = yield* execPolicy.resolvePaths({
                command: q.command,
                cwd: q.cwd,
                tool: q.tool,
                path: q.path ?? undefined,
                paths: q.paths,
                askForApproval: q.mode,
                home: NodeOs.homedir()
              })
              const decision = yield* Effect.try({ try: () => engine.check(ctx), catch: (e) => new ToolPolicyError({ detail: String(e) }) })
              return { decision, precheck: precheckOf(decision, q), amendments: amendments.map((a) => a.amendmentId) }
            })
        }
      })
    )
}
