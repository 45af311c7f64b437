/** Keeping secrets out of what hook runs record: every occurrence is replaced by a marker. */

/** The text every secret is replaced by in recorded hook runs. */
export const RedactedText = "[redacted]"

/** Replaces every occurrence of each secret (as it appears in JSON text) in a JSON value. */
export const redactSecrets = <A>(value: A, secrets: ReadonlyArray<string>): A => {
  const wanted = secrets.filter((s) => s.length > 0)
  if (wanted.length === 0) return value
  let text = JSON.stringify(value)
  for (const secret of wanted) text = text.split(JSON.stringify(secret).slice(1, -1)).join(RedactedText)
  return JSON.parse(text) as A
}
