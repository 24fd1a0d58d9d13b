#!/usr/bin/env node
/**
 * vmlmap: restore photos with VML-MAP from the command line.
 * Exits 0 on success, 1 with a one-line reason on bad input, 130 when interrupted (no output left;
 * batch keeps the photos it finished), and batch 3 when some of its photos failed.
 */
import { CancelledError, UserError } from '../engine/types.js';
import { parse } from './args.js';
import { batchCommand, parseBatch } from './batch.js';
import { degradeCommand, evalCommand, restoreCommand } from './commands.js';
import { detectCommand } from './detect.js';

const USAGE = `usage:
  vmlmap restore --task <inpaint|sr|deblur|denoise|colorize|old-photo> --input IN --output OUT
                 [--mask M] [--scale 2|3|4] [--sr-kernel box|bicubic]
                 [--kernel gaussian:STD | motion:LEN:ANGLE | file:PATH | auto] [--sigma-y S|auto]
                 [--solver vml-fp|vml-map|dps|diffpir|ddnm] [--preset fast|balanced|best] [--steps N]
                 [--detail 0..1] [--seed N] [--model DIR] [--provider auto|cpu|webgpu|cuda|dml|coreml]
                 [--precision auto|fp32|fp16] [--max-minutes M] [--strip-gps] [--json]
  vmlmap degrade (same task flags) --input CLEAN --output MEASUREMENT.png
                 [--mask M.png|scratches|box] [--mask-out MASK.png] [--seed N]
  vmlmap eval    (same task and solver flags) --input FOLDER [--crop N] [--limit K] [--json]
  vmlmap detect  --input IN --output MASK.png [--sensitivity 0..1] [--json]
  vmlmap batch   (restore's task and solver flags) --input FOLDER|FILES... --output FOLDER
                 [--suffix S] [--format same|png|jpeg|webp|tiff] [--strip-gps] [--json]
Images are in [0, 1] (8- or 16-bit); --sigma-y is in the same units, and with restore
'auto' estimates it from the input photo (the low-resolution one for sr). --kernel auto
(restore, deblur) estimates a Gaussian blur from the photo; a photo that reads sharp is refused.
A job estimated to take longer than --max-minutes (default 120) is refused before it starts.
An --output that is a symbolic link is written through: the file it points to is replaced.
restore keeps the photo's EXIF (date, camera; GPS unless --strip-gps), XMP and IPTC where the
output format can hold them, writes Orientation 1 (the pixels are stored upright) and an sRGB
ICC profile, and 16 bits when the input has them (PNG, TIFF).
--task old-photo solves blur, grain, damage (and with --colorize missing colour) at once; what
is not given is read from the photo: the damage without --mask (--mask none: no damage, tune
with --sensitivity 0..1), sigma_y without --sigma-y, the blur without --kernel (--kernel none).
detect writes the damage it finds as a mask (white = damaged), to check and give as --mask.
batch restores each photo of a folder (or the files given) to FOLDER/NAME<suffix>.EXT with one
model load; into the photos' own folder only with a --suffix. A photo whose output is already
there is skipped, so an interrupted batch finishes the rest when run again. A photo that fails
does not stop the others; the summary lists each failure. Exit status 3: some photos failed.`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === '--help' || command === '-h') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (!command) {
    process.stdout.write(`${USAGE}\n`);
    throw new UserError('no command given (restore, batch, degrade, eval or detect)');
  }
  const batch = command === 'batch' ? parseBatch(rest) : undefined;
  const flags = batch ? batch.flags : parse(rest);
  if (flags.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const abort = new AbortController();
  process.once('SIGINT', () => abort.abort());
  switch (command) {
    case 'restore':
      await restoreCommand(flags, abort.signal);
      return 0;
    case 'batch':
      return batchCommand(batch!, abort.signal);
    case 'degrade':
      await degradeCommand(flags);
      return 0;
    case 'eval':
      await evalCommand(flags, abort.signal);
      return 0;
    case 'detect':
      await detectCommand(flags);
      return 0;
    default:
      throw new UserError(`unknown command "${command}" (restore, batch, degrade, eval or detect)`);
  }
}

/** Control characters (a newline in a file name) are shown escaped: an error is always one line. */
// eslint-disable-next-line no-control-regex -- control characters are exactly what is escaped
const oneLine = (text: string): string => text.replace(/[\u0000-\u001f\u007f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    if (e instanceof CancelledError) {
      process.stderr.write('\ncancelled; nothing was written\n');
      process.exitCode = 130;
    } else if (e instanceof UserError) {
      process.stderr.write(`error: ${oneLine(e.message)}\n`);
      process.exitCode = 1;
    } else {
      process.stderr.write(`internal error: ${(e as Error)?.stack ?? String(e)}\n`);
      process.exitCode = 2;
    }
  },
);
