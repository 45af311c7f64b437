export * from "./Ids.ts"
