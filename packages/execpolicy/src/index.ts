/**
 * `@codewhale/execpolicy`: a pure execution-policy engine. It decides whether a tool call may run,
 * must ask, or is forbidden, from a layered policy (TOML), a real bash parser (tree-sitter-bash) and
 * the approval mode, and explains every decision.
 */
export * from "./Approval.ts"
export * from "./Context.ts"
export { resolveContextPaths } from "./ContextPaths.ts"
export * from "./Decision.ts"
export * from "./Engine.ts"
export * from "./Errors.ts"
export * from "./ExecPolicy.ts"
export * from "./Explanation.ts"
export * from "./Policy.ts"
export * from "./Render.ts"
export * from "./Segments.ts"
export * from "./ShellParser.ts"
