/**
 * The shortcuts taken for `check` speed agree with the plain definitions they replace: the arity
 * classification built without a word list against `classify`.
 */
import { describe, expect, it } from "@effect/vitest"
import * as fc from "effect/FastCheck"
import { ARITY } from "../src/internal/commandTables.ts"
import { classify, classifyCommand } from "../src/internal/matchers.ts"

const HEADS = [...new Set([...ARITY.keys()].map((k) => k.split(" ")[0]!)), "ls", "rm", "bash", ""]
const WORDS = [...new Set([...ARITY.keys()].flatMap((k) => k.split(" ").slice(1))), "x", "-m", "\u0000", "", "run dev"]

describe("classifyCommand", () => {
  it("gives classify's answer for every head and positional words", () => {
    fc.assert(
      fc.property(fc.constantFrom(...HEADS), fc.array(fc.constantFrom(...WORDS), { maxLength: 5 }), (head, rest) => {
        expect(classifyCommand(head, rest)).toBe(classify([head, ...rest]))
      }),
      { numRuns: 5000 }
    )
  })
})
