/** Background jobs: the job decider, its projection, the `JobStore` and the `JobRunner`. */
export * from "./Decider.ts"
export * from "./Errors.ts"
export * from "./JobState.ts"
export * from "./JobStore.ts"
export * from "./JobsReadModel.ts"
export * from "./Wire.ts"
export * from "./JobRunner.ts"
