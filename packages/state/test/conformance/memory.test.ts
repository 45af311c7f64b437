import { layerMemory } from "../../src/layers.ts"
import { eventStoreSuite } from "./eventStoreSuite.ts"

eventStoreSuite("memory", () => layerMemory)
