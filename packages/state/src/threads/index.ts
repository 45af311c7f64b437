/** Threads, messages and checkpoints as events and projections. */
export * from "./decide.ts"
export * from "./errors.ts"
export * from "./model.ts"
export * from "./projections.ts"
export * from "./readModel.ts"
export * from "./ThreadStore.ts"
export * from "./wire.ts"
