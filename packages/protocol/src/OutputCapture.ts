/** Bounded capture of process output, shared by the tools and hooks packages. */
import { StringDecoder } from "node:string_decoder"

/**
 * Keeps at most `maxBytes` of a stream: the first half and the last half, with a visible marker
 * naming how many bytes were dropped in between.
 */
export class OutputCapture {
  private readonly head: Array<Buffer> = []
  private headBytes = 0
  private tail: Array<Buffer> = []
  private tailBytes = 0
  total = 0

  constructor(private readonly maxBytes: number) {}

  push(chunk: Buffer): void {
    this.total += chunk.length
    const headCap = Math.ceil(this.maxBytes / 2)
    let rest = chunk
    if (this.headBytes < headCap) {
      const take = Math.min(headCap - this.headBytes, rest.length)
      this.head.push(rest.subarray(0, take))
      this.headBytes += take
      rest = rest.subarray(take)
    }
    if (rest.length === 0) return
    this.tail.push(rest)
    this.tailBytes += rest.length
    const tailCap = this.maxBytes - headCap
    while (this.tailBytes > tailCap && this.tail.length > 0) {
      const first = this.tail[0]!
      const excess = this.tailBytes - tailCap
      if (first.length <= excess) {
        this.tail.shift()
        this.tailBytes -= first.length
      } else {
        this.tail[0] = first.subarray(excess)
        this.tailBytes -= excess
      }
    }
  }

  get truncated(): boolean {
    return this.total > this.headBytes + this.tailBytes
  }

  text(): string {
    const head = Buffer.concat(this.head).toString("utf8")
    const tail = Buffer.concat(this.tail).toString("utf8")
    if (!this.truncated) return head + tail
    const dropped = this.total - this.headBytes - this.tailBytes
    return `${head}\n[... truncated ${dropped} bytes ...]\n${tail}`
  }
}

/** Decodes a byte stream into UTF-8 text without splitting multi-byte characters between chunks. */
export const utf8Decoder = (): StringDecoder => new StringDecoder("utf8")
