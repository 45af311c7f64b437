import { Effect } from "effect"
import {
  type AskForApproval,
  type BashParser,
  decisionJson,
  type ExecPolicyContext,
  type ExecPolicyEngine,
  loadBashParser,
  makeEngine,
  type PolicyInput
} from "../src/index.ts"

let parserPromise: Promise<BashParser> | undefined

/** The bash parser, loaded once per test file. */
export const getParser = (): Promise<BashParser> => (parserPromise ??= Effect.runPromise(loadBashParser))

/** An engine for a policy (fails the test when the policy is invalid). */
export const engineFor = async (policy: PolicyInput): Promise<ExecPolicyEngine> =>
  Effect.runPromise(makeEngine(await getParser(), policy))

/** The workspace used by table tests. */
export const WS = "/ws"
/** The home directory used by table tests. */
export const HOME = "/home/u"

/** A shell context with defaults. */
export const shell = (command: string, mode: AskForApproval = "unless_trusted", extra: Partial<ExecPolicyContext> = {}): ExecPolicyContext => ({
  command,
  cwd: WS,
  askForApproval: mode,
  home: HOME,
  ...extra
})

/** The decision word and reason for a command. */
export const verdict = (engine: ExecPolicyEngine, ctx: ExecPolicyContext) => decisionJson(engine.explain(ctx))

/** A user-layer policy. */
export const userPolicy = (layer: NonNullable<PolicyInput["user"]>): PolicyInput => ({ user: layer })
