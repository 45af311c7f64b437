export * from "./Main.ts"
