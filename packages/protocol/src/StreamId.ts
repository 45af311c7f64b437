/**
 * Stream ids are `<category>-<id>` (e.g. `thread-0192…`, `job-0192…`); the category is the text
 * before the first `-`.
 */
import { Schema } from "effect"

/** A stream id: a lowercase category, a dash, then a non-empty id. */
export const StreamId = Schema.String.pipe(
  Schema.pattern(/^[a-z][a-z0-9_]*-.+$/, {
    message: () => "a stream id is `<category>-<id>`: a lowercase category, a dash, then the id"
  }),
  Schema.maxLength(512)
)
/** A stream id: `<category>-<id>`. */
export type StreamId = typeof StreamId.Type

/** The category of a stream id: the text before the first dash. */
export const categoryOf = (streamId: string): string => {
  const i = streamId.indexOf("-")
  return i < 0 ? streamId : streamId.slice(0, i)
}

/** Builds a stream id from a category and an id; an id already prefixed by the category is kept as is. */
export const makeStreamId = (category: string, id: string): string =>
  id.startsWith(`${category}-`) ? id : `${category}-${id}`
