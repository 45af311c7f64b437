/** A JSON-RPC test client driving `codewhale serve` as a child process over stdio. */
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process"
import * as NodePath from "node:path"
import * as NodeReadline from "node:readline"

const root = NodePath.resolve(import.meta.dirname, "../../..")

/** A JSON-RPC answer or notification. */
export interface Message {
  readonly jsonrpc: string
  readonly id?: string | number | null
  readonly method?: string
  readonly params?: any
  readonly result?: any
  readonly error?: { readonly code: number; readonly message: string; readonly data: any }
}

/** A running server and a line-oriented client for it. */
export class ServeClient {
  private readonly received: Array<Message> = []
  private readonly raw: Array<string> = []
  private waiters: Array<() => void> = []
  private nextId = 1
  readonly exited: Promise<number | null>
  private hasExited = false
  stderr = ""

  private constructor(readonly proc: ChildProcessWithoutNullStreams) {
    const rl = NodeReadline.createInterface({ input: proc.stdout })
    rl.on("line", (line) => {
      this.raw.push(line)
      this.received.push(JSON.parse(line) as Message)
      for (const w of this.waiters) w()
    })
    proc.stderr.on("data", (d) => (this.stderr += String(d)))
    this.exited = new Promise((resolve) =>
      proc.on("exit", (code) => {
        this.hasExited = true
        for (const w of this.waiters) w()
        resolve(code)
      })
    )
  }

  /** Starts `codewhale serve` with these arguments (and CODEWHALE_HOME). */
  static start(args: ReadonlyArray<string>, env: Record<string, string> = {}): ServeClient {
    const proc = spawn(process.execPath, ["--conditions=@codewhale/source", "--import", "tsx", "packages/cli/src/bin.ts", "serve", ...args], {
      cwd: root,
      env: { ...process.env, ...env },
      stdio: ["pipe", "pipe", "pipe"]
    })
    return new ServeClient(proc)
  }

  /** Every line the server wrote, parsed. */
  get messages(): ReadonlyArray<Message> {
    return this.received
  }

  /** Writes a raw line. */
  sendLine(line: string): void {
    this.proc.stdin.write(line + "\n")
  }

  /** Waits until a received message satisfies `predicate` (from index `from`). */
  async waitFor(predicate: (m: Message) => boolean, from = 0, timeoutMs = 150_000): Promise<Message> {
    const deadline = Date.now() + timeoutMs
    while (true) {
      const found = this.received.slice(from).find(predicate)
      if (found !== undefined) return found
      if (this.hasExited || Date.now() > deadline) throw new Error(`no matching message; received: ${this.raw.slice(-5).join("\n")}\nstderr: ${this.stderr}`)
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 200)
        this.waiters.push(() => {
          clearTimeout(t)
          resolve()
        })
      })
      this.waiters = []
    }
  }

  /** Sends a request and waits for its answer. */
  async call(method: string, params?: unknown): Promise<Message> {
    const id = this.nextId++
    this.sendLine(JSON.stringify(params === undefined ? { jsonrpc: "2.0", id, method } : { jsonrpc: "2.0", id, method, params }))
    return this.waitFor((m) => m.id === id && m.method === undefined)
  }

  /** Sends a request and returns its result (fails on an error answer). */
  async result(method: string, params?: unknown): Promise<any> {
    const answer = await this.call(method, params)
    if (answer.error !== undefined) throw new Error(`${method} failed: ${JSON.stringify(answer.error)}`)
    return answer.result
  }

  /** The `events/event` notifications of a subscription received so far. */
  events(subscriptionId: string): ReadonlyArray<any> {
    return this.received.filter((m) => m.method === "events/event" && m.params.subscription_id === subscriptionId).map((m) => m.params.event)
  }

  /** Closes stdin and waits for the process to exit. */
  async close(): Promise<number | null> {
    this.proc.stdin.end()
    return this.exited
  }
}
