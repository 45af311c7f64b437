/**
 * `policy-check`: execution-policy checks per second over a corpus of realistic commands (a third
 * of them compound) against a 100-rule policy, parse included, with p50/p99 per check. The baseline
 * is the bare tree-sitter parse (parse + free) of the same corpus, measured in the same run. Both
 * are measured at steady state, after a warm-up long enough for V8 to optimise the engine's code
 * and tier the parser's wasm up (the first ~15k calls run two to three times slower).
 *
 * Run alone: `pnpm bench --only policy-check`.
 */
import { Effect } from "effect"
import { type BashParser, type ExecPolicyContext, loadBashParser, makeEngine, type PolicyInput } from "@codewhale/execpolicy"

/** One figure of the bench report (to move into `tooling/bench/harness.ts`). */
export interface BenchResult {
  readonly name: string
  readonly rate: number
  readonly baselineRate: number
  readonly ratio: number
  readonly unit: string
  readonly target?: string
  readonly extra?: Record<string, number | string>
}

/** One bench case (to move into `tooling/bench/harness.ts`). */
export interface BenchCase {
  readonly name: string
  readonly run: () => Promise<BenchResult>
}

/** A deterministic pseudo-random generator, so every run checks the same corpus. */
const rng = (seed: number) => () => {
  seed = (seed * 1664525 + 1013904223) >>> 0
  return seed / 0x1_0000_0000
}

const SIMPLE: ReadonlyArray<(r: () => number) => string> = [
  (r) => `git status${r() < 0.5 ? " --short" : ""}`,
  (r) => `git log --oneline -${1 + Math.floor(r() * 50)}`,
  (r) => `git diff HEAD~${Math.floor(r() * 9)} -- src/mod${Math.floor(r() * 40)}.ts`,
  (r) => `git add src/file${Math.floor(r() * 500)}.ts`,
  (r) => `git commit -m "fix: issue ${Math.floor(r() * 9000)}"`,
  (r) => `git push origin feature/${Math.floor(r() * 300)}`,
  (r) => `git checkout -b topic-${Math.floor(r() * 1000)}`,
  (r) => `cargo test -p crate${Math.floor(r() * 20)} --all-features`,
  (r) => `cargo build --release --target-dir target/t${Math.floor(r() * 10)}`,
  (r) => `npm run ${["dev", "build", "lint", "test"][Math.floor(r() * 4)]} -- --port ${3000 + Math.floor(r() * 100)}`,
  (r) => `npm install lodash@4.17.${Math.floor(r() * 21)}`,
  (r) => `pnpm vitest run test/case${Math.floor(r() * 200)}.test.ts`,
  (r) => `ls -la src/dir${Math.floor(r() * 60)}`,
  (r) => `cat docs/page${Math.floor(r() * 300)}.md`,
  (r) => `grep -rn "TODO ${Math.floor(r() * 99)}" src`,
  (r) => `rg --type ts 'fn${Math.floor(r() * 500)}' packages`,
  (r) => `find . -name '*.rs' -newer build/stamp${Math.floor(r() * 30)}`,
  (r) => `sed -n '${1 + Math.floor(r() * 200)},+20p' src/main.rs`,
  (r) => `python3 scripts/gen${Math.floor(r() * 40)}.py --out build/out${Math.floor(r() * 40)}.json`,
  (r) => `docker compose up -d service${Math.floor(r() * 12)}`,
  (r) => `kubectl get pods -n ns${Math.floor(r() * 15)}`,
  (r) => `rm -rf build/cache${Math.floor(r() * 100)}`,
  (r) => `mkdir -p out/run${Math.floor(r() * 1000)}`,
  (r) => `curl -s https://api.example.com/v1/items/${Math.floor(r() * 10000)}`,
  (r) => `make -j${1 + Math.floor(r() * 8)} target${Math.floor(r() * 30)}`,
  (r) => `echo "build ${Math.floor(r() * 10000)} done"`,
  (r) => `sudo apt-get install -y pkg${Math.floor(r() * 100)}`,
  (r) => `timeout ${1 + Math.floor(r() * 60)} cargo test slow_${Math.floor(r() * 100)}`,
  (r) => `GIT_TRACE=${Math.floor(r() * 2)} git fetch origin`,
  (r) => `cat .env.local${Math.floor(r() * 5)}`
]
const OPS = [" && ", " || ", "; ", " | "]

/**
 * The corpus: `size` distinct commands, every third one compound (chains, pipes, substitutions,
 * redirects). A generated command that is already in the corpus is drawn again, so no check can
 * profit from having seen the same string before.
 */
export const corpus = (size: number): Array<string> => {
  const r = rng(42)
  const pick = () => SIMPLE[Math.floor(r() * SIMPLE.length)]!(r)
  const compound = () => {
    const kind = Math.floor(r() * 4)
    if (kind === 0) return `${pick()}${OPS[Math.floor(r() * OPS.length)]}${pick()}`
    if (kind === 1) return `${pick()} > logs/run${Math.floor(r() * 1000)}.log 2>&1`
    if (kind === 2) return `echo "$(${pick()})" | tee out/${Math.floor(r() * 1000)}.txt`
    return `bash -lc '${pick().replaceAll("'", "")} && ${pick().replaceAll("'", "")}'`
  }
  const seen = new Set<string>()
  const out: Array<string> = []
  for (let i = 0; i < size; i++) {
    let command = i % 3 === 2 ? compound() : pick()
    while (seen.has(command)) command = i % 3 === 2 ? compound() : pick()
    seen.add(command)
    out.push(command)
  }
  return out
}

/** A 100-rule policy: 40 trusted prefixes, 20 denied prefixes, 40 typed rules over three layers. */
export const benchPolicy = (): PolicyInput => {
  const trusted = [
    "git status", "git log", "git diff", "git show", "git branch", "git fetch", "ls", "cat", "grep", "rg", "find", "sed -n",
    "cargo test", "cargo check", "cargo build", "cargo clippy", "npm run dev", "npm run test", "npm run lint", "npm test",
    "pnpm vitest", "pnpm test", "make", "echo", "pwd", "head", "tail", "wc", "sort", "uniq", "diff", "tree", "which",
    "kubectl get", "docker compose ps", "docker ps", "go test", "go build", "python3 -m pytest", "tee"
  ]
  const denied = [
    "rm -rf /", "rm -rf ~", "rm -rf /*", "git push --force", "git push -f", "npm publish", "cargo publish", "mkfs",
    "dd of=/dev/sda", "shutdown", "reboot", "chmod -R 777 /", "git reset --hard origin", "docker system prune",
    "kubectl delete namespace", "terraform destroy", "helm uninstall", "aws s3 rm", "gh repo delete", "curl -X DELETE"
  ]
  const rules = [
    ...["git push", "git rebase", "git reset", "git clean", "npm install", "pnpm add", "cargo install", "pip install",
      "docker run", "docker compose up", "kubectl apply", "kubectl delete", "terraform apply", "helm install", "curl",
      "wget", "ssh", "scp", "rsync", "sudo"].map((command) => ({ action: "ask" as const, tool: "exec_shell", command })),
    ...["git add", "git commit", "git checkout", "mkdir -p", "rm -rf build", "rm -rf target", "cargo fmt", "npm run build",
      "make -j4", "python3 scripts"].map((command) => ({ action: "allow" as const, tool: "exec_shell", command })),
    ...[".env", ".env.*", "secrets/**", "**/*.pem", "~/.ssh/**"].map((path) => ({ action: "deny" as const, tool: "read_file", path })),
    ...["git push origin main", "npm publish --tag latest", "cargo publish --allow-dirty", "git commit --no-verify", "rm -rf node_modules"]
      .map((command) => ({ action: "deny" as const, tool: "exec_shell", command }))
  ]
  return {
    builtin: { denied_prefixes: denied.slice(0, 10), rules: rules.slice(0, 10) },
    agent: { trusted_prefixes: trusted.slice(0, 20), denied_prefixes: denied.slice(10), rules: rules.slice(10, 25) },
    user: { trusted_prefixes: trusted.slice(20), rules: rules.slice(25) }
  }
}

const percentile = (sorted: Float64Array, p: number): number => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!

/** Per-call timings of `f` over `inputs`, `rounds` times, appended to `samples` from `k`; returns the new `k`. */
const timeRound = <A>(inputs: ReadonlyArray<A>, f: (input: A) => void, samples: Float64Array, k: number): number => {
  for (const c of inputs) {
    const t0 = performance.now()
    f(c)
    samples[k++] = performance.now() - t0
  }
  return k
}

const summarise = (samples: Float64Array) => {
  let total = 0
  for (const s of samples) total += s
  samples.sort()
  return { rate: samples.length / (total / 1000), p50: percentile(samples, 0.5) * 1000, p99: percentile(samples, 0.99) * 1000 }
}

const CORPUS_SIZE = 1200
const ROUNDS = 10
/** Warm-up before measuring: V8 tiers the engine's JavaScript and the parser's wasm up over the first ~15k calls. */
const WARMUP_MS = 4000
const MIN_WARMUP_ROUNDS = 20

const runPolicyCheck = async (): Promise<BenchResult> => {
  const parser: BashParser = await Effect.runPromise(loadBashParser)
  const engine = await Effect.runPromise(makeEngine(parser, benchPolicy()))
  const commands = corpus(CORPUS_SIZE)
  const contexts: Array<ExecPolicyContext> = commands.map((command, i) => ({
    command,
    cwd: "/home/dev/project",
    home: "/home/dev",
    askForApproval: i % 2 === 0 ? "unless_trusted" : "on_request"
  }))
  const bare = (c: string) => parser.parse(c)?.dispose()
  const check = (c: ExecPolicyContext) => void engine.check(c)
  // Warm up both paths until V8 has optimised them (a runtime checks commands for hours; the first
  // ~15k calls run on baseline tiers), then measure the baseline and the checks in alternating
  // rounds of the same run, so machine noise falls on both alike. Each context is built before
  // timing starts, so a check times the engine alone; every check parses, nothing is cached.
  const scratch = new Float64Array(commands.length)
  const warmStart = performance.now()
  let warmRounds = 0
  while (warmRounds < MIN_WARMUP_ROUNDS || performance.now() - warmStart < WARMUP_MS) {
    timeRound(commands, bare, scratch, 0)
    timeRound(contexts, check, scratch, 0)
    warmRounds++
  }
  const bareSamples = new Float64Array(commands.length * ROUNDS)
  const checkSamples = new Float64Array(contexts.length * ROUNDS)
  let kb = 0
  let kc = 0
  for (let round = 0; round < ROUNDS; round++) {
    kb = timeRound(commands, bare, bareSamples, kb)
    kc = timeRound(contexts, check, checkSamples, kc)
  }
  const baseline = summarise(bareSamples)
  const checks = summarise(checkSamples)
  const decisions = { allow: 0, ask: 0, forbidden: 0 }
  for (const c of contexts) {
    const t = engine.check(c).requirement._tag
    decisions[t === "Skip" ? "allow" : t === "NeedsApproval" ? "ask" : "forbidden"]++
  }
  return {
    name: "policy-check",
    rate: Math.round(checks.rate),
    baselineRate: Math.round(baseline.rate),
    ratio: Number((checks.rate / baseline.rate).toFixed(3)),
    unit: "checks/s",
    target: ">= 50000 checks/s, p99 < 100 us",
    extra: {
      corpus: commands.length,
      distinct: new Set(commands).size,
      compound: commands.filter((_, i) => i % 3 === 2).length,
      rules: 100,
      warmup_rounds: warmRounds,
      p50_us: Number(checks.p50.toFixed(1)),
      p99_us: Number(checks.p99.toFixed(1)),
      baseline_p50_us: Number(baseline.p50.toFixed(1)),
      baseline_p99_us: Number(baseline.p99.toFixed(1)),
      allow: decisions.allow,
      ask: decisions.ask,
      forbidden: decisions.forbidden,
      cache: "none (every check parses)"
    }
  }
}

/** The bench cases of this file. */
export const cases: ReadonlyArray<BenchCase> = [{ name: "policy-check", run: runPolicyCheck }]
