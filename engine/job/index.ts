/** Large images in tiles, inpainting by region, memory preflight (docs/TILING.md). */
export { ENGINE_BYTES_PER_PIXEL, memoryBudget, modelMemoryCost, type MemoryBudget, type ModelMemoryCost } from '../model/memory.js';
export { drawKey, fieldNormal, fieldNormals, FieldNoise, mix32, type TileRegion } from './noise.js';
export { minTileSide, operatorReach, splitAxis, tileGrid, type AxisTile, type Interval, type OperatorReach, type Tile } from './tiles.js';
export { holeDistance, maskRuns, planRegions, uniformAxis, type RegionPlan, type Rect, type Runs } from './regions.js';
export { planJob, runPlanned, TILING_DEFAULTS } from './run.js';
export { cropPlanar, operatorName, windowProblem } from './problem.js';
export type { JobPlan, TilingOptions, TilingReport } from './types.js';
