import { layerSqlite } from "../../src/layers.ts"
import { layerSqliteTemp } from "../fixtures/helpers.ts"
import { eventStoreSuite } from "./eventStoreSuite.ts"

eventStoreSuite("sqlite (temp file)", () => layerSqliteTemp())
eventStoreSuite("sqlite (:memory:)", () => layerSqlite({ filename: ":memory:" }))
