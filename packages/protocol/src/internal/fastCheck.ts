/**
 * A fast path for decoding stored payloads. Most event schemas are plain data (structs, arrays,
 * strings, numbers, literals, unions, refinements) without transformations: for them, decoding a
 * valid value returns an equal value. `compileFastCheck` turns such a schema's AST into a plain
 * predicate that answers, without allocating:
 *
 * - `Invalid`: the value does not match (the full decoder then reports why);
 * - `Exact`: the value matches and decoding would return an equal value, so it can be used as is;
 * - `Unsure`: it matches only after decoding changes it (excess keys stripped, a union where more
 *   than one member matches): the full decoder decides.
 *
 * Schemas with anything else (transformations, declarations, recursion, template literals) get
 * no fast path at all.
 */
import { Option, type ParseResult, SchemaAST } from "effect"

/** The outcomes of a fast check. */
export const Fast = { Invalid: 0, Exact: 1, Unsure: 2 } as const

/** The outcome of a fast check. */
export type Fast = typeof Fast[keyof typeof Fast]

/** A compiled check of one schema. */
export type FastCheck = (u: unknown) => Fast

const filterOptions: SchemaAST.ParseOptions = { errors: "first" }

const always: FastCheck = () => Fast.Exact

const isPlainObject = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

const compileTypeLiteral = (ast: SchemaAST.TypeLiteral): FastCheck | undefined => {
  if (ast.indexSignatures.length > 0) {
    if (ast.propertySignatures.length > 0 || ast.indexSignatures.length > 1) return undefined
    const signature = ast.indexSignatures[0]!
    if (signature.parameter._tag !== "StringKeyword") return undefined
    const value = compile(signature.type)
    if (value === undefined) return undefined
    return (u) => {
      if (!isPlainObject(u)) return Fast.Invalid
      let result: Fast = Fast.Exact
      for (const key in u) {
        const r = value(u[key])
        if (r === Fast.Invalid) return Fast.Invalid
        if (r === Fast.Unsure) result = Fast.Unsure
      }
      return result
    }
  }
  const names: Array<string> = []
  const checks: Array<FastCheck> = []
  const optional: Array<boolean> = []
  for (const p of ast.propertySignatures) {
    if (typeof p.name !== "string") return undefined
    const check = compile(p.type)
    if (check === undefined) return undefined
    names.push(p.name)
    checks.push(check)
    optional.push(p.isOptional)
  }
  const count = names.length
  return (u) => {
    if (!isPlainObject(u)) return Fast.Invalid
    let result: Fast = Fast.Exact
    let present = 0
    for (let i = 0; i < count; i++) {
      const name = names[i]!
      if (!Object.prototype.hasOwnProperty.call(u, name)) {
        if (optional[i]) continue
        return Fast.Invalid
      }
      present++
      const r = checks[i]!(u[name])
      if (r === Fast.Invalid) return Fast.Invalid
      if (r === Fast.Unsure) result = Fast.Unsure
    }
    // Keys the schema does not declare are stripped by decoding: the full decoder handles them.
    let keys = 0
    for (const key in u) if (Object.prototype.hasOwnProperty.call(u, key)) keys++
    return keys === present ? result : Fast.Unsure
  }
}

const compileTuple = (ast: SchemaAST.TupleType): FastCheck | undefined => {
  if (ast.elements.length > 0 || ast.rest.length !== 1) return undefined
  const item = compile(ast.rest[0]!.type)
  if (item === undefined) return undefined
  return (u) => {
    if (!Array.isArray(u)) return Fast.Invalid
    let result: Fast = Fast.Exact
    for (let i = 0; i < u.length; i++) {
      const r = item(u[i])
      if (r === Fast.Invalid) return Fast.Invalid
      if (r === Fast.Unsure) result = Fast.Unsure
    }
    return result
  }
}

const compileUnion = (ast: SchemaAST.Union): FastCheck | undefined => {
  const members: Array<FastCheck> = []
  for (const m of ast.types) {
    const check = compile(m)
    if (check === undefined) return undefined
    members.push(check)
  }
  // Exact only when exactly one member matches: with several, the decoder's choice of member
  // (it may try some before others) could return a different value.
  return (u) => {
    let matched = 0
    let result: Fast = Fast.Invalid
    for (const member of members) {
      const r = member(u)
      if (r === Fast.Invalid) continue
      matched++
      result = r
    }
    return matched > 1 ? Fast.Unsure : result
  }
}

const compileRefinement = (ast: SchemaAST.Refinement): FastCheck | undefined => {
  const from = compile(ast.from)
  if (from === undefined) return undefined
  return (u) => {
    const r = from(u)
    if (r !== Fast.Exact) return r
    const issue: Option.Option<ParseResult.ParseIssue> = ast.filter(u, filterOptions, ast)
    return Option.isNone(issue) ? Fast.Exact : Fast.Invalid
  }
}

const compile = (ast: SchemaAST.AST): FastCheck | undefined => {
  switch (ast._tag) {
    case "StringKeyword":
      return (u) => (typeof u === "string" ? Fast.Exact : Fast.Invalid)
    case "NumberKeyword":
      return (u) => (typeof u === "number" ? Fast.Exact : Fast.Invalid)
    case "BooleanKeyword":
      return (u) => (typeof u === "boolean" ? Fast.Exact : Fast.Invalid)
    case "UndefinedKeyword":
    case "VoidKeyword":
      return (u) => (u === undefined ? Fast.Exact : Fast.Invalid)
    case "UnknownKeyword":
    case "AnyKeyword":
      return always
    case "Literal": {
      const literal = ast.literal
      return (u) => (u === literal ? Fast.Exact : Fast.Invalid)
    }
    case "Enums": {
      const values = new Set<unknown>(ast.enums.map(([, value]) => value))
      return (u) => (values.has(u) ? Fast.Exact : Fast.Invalid)
    }
    case "TypeLiteral":
      return compileTypeLiteral(ast)
    case "TupleType":
      return compileTuple(ast)
    case "Union":
      return compileUnion(ast)
    case "Refinement":
      return compileRefinement(ast)
    default:
      return undefined
  }
}

/** The fast check of a schema's AST, or `undefined` when the schema is outside the fast path. */
export const compileFastCheck = (ast: SchemaAST.AST): FastCheck | undefined => compile(ast)
