export * from "./CommandHooks.ts"
export * from "./HookConfig.ts"
export * from "./HookDispatcher.ts"
export * from "./SinkEvents.ts"
