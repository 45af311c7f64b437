/** The built-in tools and a layer that registers them. */
import { Effect, Layer } from "effect"
import { ToolRegistry } from "../ToolRegistry.ts"
import type { ToolDefinition } from "../ToolDefinition.ts"
import { applyPatchTool } from "./ApplyPatch.ts"
import { execShellTool, type ExecShellOptions } from "./ExecShell.ts"
import { listDirTool, readFileTool, writeFileTool } from "./FileTools.ts"

/** Options of the built-in tools. */
export interface BuiltinToolsOptions {
  readonly execShell?: ExecShellOptions | undefined
  readonly readFileMaxBytes?: number | undefined
}

/** The built-in tools: `apply_patch`, `exec_shell`, `list_dir`, `read_file`, `write_file`. */
export const builtinTools = (options: BuiltinToolsOptions = {}): ReadonlyArray<ToolDefinition> => [
  applyPatchTool(),
  execShellTool(options.execShell),
  listDirTool(),
  readFileTool({ maxBytes: options.readFileMaxBytes }),
  writeFileTool()
]

/** Registers the built-in tools into the `ToolRegistry` (replacing tools of the same names). */
export const registerBuiltinTools = (options: BuiltinToolsOptions = {}): Effect.Effect<void, never, ToolRegistry> =>
  Effect.flatMap(ToolRegistry, (registry) =>
    Effect.forEach(builtinTools(options), (tool) => registry.register(tool, { replace: true }), { discard: true }).pipe(Effect.orDie))

/** A registry holding the built-in tools. */
export const layerWithBuiltins = (options: BuiltinToolsOptions = {}): Layer.Layer<ToolRegistry> =>
  Layer.effectDiscard(registerBuiltinTools(options)).pipe(Layer.provideMerge(ToolRegistry.layer))

export * from "./ApplyPatch.ts"
export * from "./ExecShell.ts"
export * from "./FileTools.ts"
