import { Effect, ParseResult, Schema } from "effect"
import { parse as parseToml } from "smol-toml"
import { EXEC_SHELL, type ExecPolicyContext } from "./Context.ts"
import type { ExecPolicyDecision, RulesetLayer } from "./Decision.ts"
import { PolicyLoadError } from "./Errors.ts"
import type { Explanation } from "./Explanation.ts"
import { PolicyInput, type RuleInput } from "./Policy.ts"
import type { BashParser } from "./ShellParser.ts"
import { compilePolicy, type CompiledPolicy, type SourceLocator } from "./internal/compile.ts"
import { decideCall, explainCall } from "./internal/evaluate.ts"
import { locateInToml, tomlLocator } from "./internal/tomlLines.ts"

/** A loaded policy, ready to decide. `check` and `explain` are pure and synchronous. */
export interface ExecPolicyEngine {
  /** The policy as written. */
  readonly policy: PolicyInput
  /** Decides whether a call may run, must ask, or is forbidden. */
  readonly check: (ctx: ExecPolicyContext) => ExecPolicyDecision
  /** The decision plus every segment, every matching rule, the winner and why, and the mode's part. */
  readonly explain: (ctx: ExecPolicyContext) => Explanation
}

/** Where a policy came from, for error messages. */
export interface PolicySource {
  /** File name (or a label such as `<stdin line 3>`). */
  readonly file: string
  /** The TOML text, to locate rules by line. */
  readonly toml?: string | undefined
  /** A fixed line for every error (a batch input line). */
  readonly line?: number | undefined
}

const LAYERS: ReadonlyArray<RulesetLayer> = ["builtin", "agent", "user"]

const ruleName = (path: ReadonlyArray<PropertyKey>): string | null => {
  const [layer, field, index] = path
  if (typeof layer !== "string") return null
  if (typeof field !== "string") return layer
  if (typeof index !== "number") return `${layer}.${field}`
  return `${layer}.${field}[${index}]`
}

const lineOf = (source: PolicySource, path: ReadonlyArray<PropertyKey>): number | null => {
  if (source.line !== undefined) return source.line
  if (source.toml === undefined) return null
  const [layer, field, index, key] = path
  if (typeof layer !== "string") return null
  return locateInToml(
    source.toml,
    layer,
    typeof field === "string" ? field : null,
    typeof index === "number" ? index : null,
    typeof key === "string" ? key : null
  )
}

/** Decodes the policy structure (unknown fields rejected) into a `PolicyInput`. */
export const decodePolicy = (input: unknown, source: PolicySource): Effect.Effect<PolicyInput, PolicyLoadError> =>
  Schema.decodeUnknown(PolicyInput, { onExcessProperty: "error", errors: "first" })(input).pipe(
    Effect.mapError((error) => {
      const issue = ParseResult.ArrayFormatter.formatErrorSync(error)[0]
      const path = issue?.path ?? []
      const message = issue?.message ?? "invalid policy"
      const last = path[path.length - 1]
      const what = issue?._tag === "Unexpected" && typeof last === "string"
        ? `unknown field '${last}' (allowed: ${
          path.length === 1 ? LAYERS.join(", ") : path.length === 2 ? "trusted_prefixes, denied_prefixes, rules" : "action, tool, command, command_exact, path, workspace, justification, match, not_match"
        })`
        : last === "action"
        ? `action must be one of allow, ask, deny (${message})`
        : `${path.length > 0 ? path.join(".") + ": " : ""}${message}`
      return new PolicyLoadError({
        file: source.file,
        line: lineOf(source, path),
        rule: ruleName(path.length === 1 ? [] : path.slice(0, 3)),
        detail: what
      })
    })
  )

/** Parses policy TOML text. */
export const parsePolicyToml = (text: string, file: string): Effect.Effect<PolicyInput, PolicyLoadError> =>
  Effect.try({
    try: () => parseToml(text) as unknown,
    catch: (cause) => {
      const line = typeof cause === "object" && cause !== null && "line" in cause && typeof cause.line === "number" ? cause.line : null
      const message = cause instanceof Error ? cause.message.split("\n")[0] ?? cause.message : String(cause)
      return new PolicyLoadError({ file, line, rule: null, detail: `invalid TOML: ${message}` })
    }
  }).pipe(Effect.flatMap((value) => decodePolicy(value, { file, toml: text })))

const EXAMPLE_CWD = "/workspace"

/** Does this rule (alone) match this example? Used to check `match` / `not_match` at load time. */
const ruleMatchesExample = (parser: BashParser, compiled: CompiledPolicy, rule: RuleInput, example: string): boolean => {
  const pathExample = rule.command === undefined && rule.path !== undefined && rule.tool !== EXEC_SHELL
  const ctx: ExecPolicyContext = {
    command: pathExample ? rule.tool : example,
    cwd: rule.workspace ?? EXAMPLE_CWD,
    tool: rule.tool,
    path: pathExample ? example : undefined,
    askForApproval: "unless_trusted"
  }
  const explanation = explainCall(compiled, parser, ctx)
  return explanation.segments.some((s) => s.matches.some((m) => m.kind === "rule" && m.certainty === "match"))
}

const validateExamples = (
  parser: BashParser,
  policy: PolicyInput,
  source: PolicySource
): Effect.Effect<void, PolicyLoadError> =>
  Effect.gen(function*() {
    for (const layer of LAYERS) {
      const rules = policy[layer]?.rules ?? []
      for (let index = 0; index < rules.length; index++) {
        const rule = rules[index]!
        if (rule.match === undefined && rule.not_match === undefined) continue
        const single = compilePolicy({ [layer]: { rules: [rule] } })
        if (!("policy" in single)) continue
        const fail = (key: "match" | "not_match", example: string) =>
          new PolicyLoadError({
            file: source.file,
            line: lineOf(source, [layer, "rules", index, key]),
            rule: `${layer}.rules[${index}]`,
            detail: key === "match"
              ? `rule '${single.policy.rules[0]!.label}' does not match its example '${example}'`
              : `rule '${single.policy.rules[0]!.label}' matches its counter-example '${example}'`
          })
        for (const example of rule.match ?? []) {
          if (!ruleMatchesExample(parser, single.policy, rule, example)) return yield* fail("match", example)
        }
        for (const example of rule.not_match ?? []) {
          if (ruleMatchesExample(parser, single.policy, rule, example)) return yield* fail("not_match", example)
        }
      }
    }
  })

/** Builds an engine from a decoded policy: compiles it and checks every rule's examples. */
export const makeEngine = (
  parser: BashParser,
  policy: PolicyInput,
  source: PolicySource = { file: "<policy>" }
): Effect.Effect<ExecPolicyEngine, PolicyLoadError> =>
  Effect.gen(function*() {
    const locate: SourceLocator = source.toml !== undefined
      ? tomlLocator(source.file, source.toml)
      : () => (source.line !== undefined ? `${source.file}:${source.line}` : source.file)
    const result = compilePolicy(policy, locate)
    if ("problems" in result) {
      const p = result.problems[0]!
      return yield* new PolicyLoadError({
        file: source.file,
        line: lineOf(source, [p.layer, p.field, p.index, ...(p.key === null ? [] : [p.key])]),
        rule: `${p.layer}.${p.field}[${p.index}]`,
        detail: p.detail
      })
    }
    yield* validateExamples(parser, policy, source)
    const compiled = result.policy
    return {
      policy,
      check: (ctx) => decideCall(compiled, parser, ctx),
      explain: (ctx) => explainCall(compiled, parser, ctx)
    }
  })
