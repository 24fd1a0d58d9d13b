/** The measurement a preset sweep solves for photo i: what restore() sees (engine/job/restore.ts), seed 2000 + i. */
import { buildOperator, degrade } from '../../engine/job/restore.js';
import type { Img } from '../../engine/types.js';
import type { BenchTask } from '../config.js';
import { benchObserved } from '../images.js';

export function sweepProblem(task: BenchTask, clean: Img, i: number) {
  const seed = 2000 + i;
  const size = clean.w;
  const observed = task.mask ? benchObserved(task.mask, size, seed) : undefined;
  const d = degrade(clean, task.spec, seed, observed);
  const op = buildOperator(task.spec, clean, observed);
  const y = task.spec.task === 'inpaint' || task.spec.task === 'colorize' ? op.forward(d.image.data) : d.image.data;
  return { seed, clean, op, y };
}
