/** Reading what the SQLite driver threw: its code and message, also for errors cloned across threads. */

/** The driver's error code (`SQLITE_BUSY`, `SQLITE_CONSTRAINT_UNIQUE`, ...), or "". */
export const codeOf = (cause: unknown): string => {
  const code = (cause as { code?: unknown } | undefined)?.code
  return typeof code === "string" ? code : ""
}

/** An error's message; an error cloned from a worker thread is no longer `instanceof Error`, so its fields are read. */
export const messageOf = (cause: unknown): string => {
  const message = (cause as { message?: unknown } | null | undefined)?.message
  if (typeof message === "string") return message
  const code = codeOf(cause)
  return code === "" ? String(cause) : code
}
