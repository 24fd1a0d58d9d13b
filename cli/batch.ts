/**
 * vmlmap batch: restore a folder of photos (or a list of files) into an output folder, with the
 * restore command's task and solver flags, the model loaded once.
 *
 * Each photo goes to `<output>/<name><suffix>.<ext>`. A photo whose output is already there as a
 * readable image is skipped, so a run that was interrupted finishes the rest when started again;
 * outputs are written atomically, so a half-written one never exists. A photo that fails
 * (damaged, unreadable, refused) is reported and the others go on. Exit status: 0 when every photo
 * was restored or skipped, 3 when any failed, 1 for bad usage (nothing done), 130 on Ctrl-C
 * (stopped between photos or between steps of one; the finished outputs stay).
 */
import { mkdir, realpath, stat } from 'node:fs/promises';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { openImage } from '../engine/photo/image.js';
import { listPhotoFolder, OUTPUT_EXTENSION } from '../engine/photo/photo-folder.js';
import { checkRegularFile, fsReason } from '../engine/photo/regular-file.js';
import { CancelledError, UserError } from '../engine/types.js';
import { FLAGS, type Flags } from './args.js';
import { loadRestoreModel, openJob, type RestoreModel, restoreJob, restorePlan, type RestoreSummary } from './commands.js';

const BATCH_FLAGS = {
  ...FLAGS,
  input: { type: 'string', multiple: true },
  suffix: { type: 'string' },
  format: { type: 'string' },
} as const;

const FORMATS = ['same', 'png', 'jpeg', 'webp', 'tiff'] as const;
type BatchFormat = (typeof FORMATS)[number];

const firstLine = (e: unknown): string => ((e instanceof Error ? e.message : String(e)).split('\n')[0] ?? '').trim();

/** Exit status when at least one photo failed. */
export const EXIT_SOME_FAILED = 3;

export interface BatchArgs {
  /** restore's flags (input unused: see inputs). */
  flags: Flags;
  /** --input's values: one folder, or files. */
  inputs: string[];
  suffix?: string;
  format?: string;
}

/**
 * batch's command line: restore's flags plus --suffix and --format; --input takes a folder or
 * files, as `--input a.jpg b.jpg` (what a shell pattern gives) or repeated. A word anywhere else is refused.
 */
export function parseBatch(argv: string[]): BatchArgs {
  // A suffix usually starts with '-', which parseArgs would take for a flag: `--suffix -restored` is read as `--suffix=-restored`.
  const args = argv.flatMap((a, i) => (argv[i - 1] === '--suffix' && a.startsWith('-') ? [] : a === '--suffix' && argv[i + 1]?.startsWith('-') ? [`--suffix=${argv[i + 1]}`] : [a]));
  const parse = () => parseArgs({ args, options: BATCH_FLAGS, strict: true, allowPositionals: true, tokens: true });
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse();
  } catch (e) {
    throw new UserError(firstLine(e));
  }
  const inputs: string[] = [];
  let afterInput = false;
  for (const token of parsed.tokens) {
    if (token.kind === 'option') {
      afterInput = token.name === 'input';
      if (afterInput && token.value !== undefined) inputs.push(token.value);
    } else if (token.kind === 'positional') {
      if (!afterInput) throw new UserError(`unexpected argument "${token.value}" (the photos to restore follow --input)`);
      inputs.push(token.value);
    }
  }
  const { input: _input, suffix, format, ...rest } = parsed.values;
  return { flags: rest as Flags, inputs, suffix, format };
}

interface Entry {
  input: string;
  output: string;
  name: string;
  status: 'pending' | 'done' | 'skipped' | 'failed' | 'cancelled';
  seconds?: number;
  reason?: string;
  notes: string[];
  result?: RestoreSummary;
}

const realOrResolved = (path: string): Promise<string> => realpath(path).catch(() => resolve(path));

/** An output that is there and opens as an image: done by an earlier run. */
async function alreadyDone(output: string): Promise<boolean> {
  try {
    await openImage(output, { maxPixels: Infinity, availableMemory: Infinity });
    return true;
  } catch {
    return false;
  }
}

export async function batchCommand(args: BatchArgs, signal: AbortSignal): Promise<number> {
  const f = args.flags;
  const plan = restorePlan(f);
  const format = (args.format ?? 'same') as BatchFormat;
  if (!FORMATS.includes(format)) throw new UserError(`unknown format "${args.format}" (expected one of ${FORMATS.join(', ')})`);
  const suffix = args.suffix ?? '';
  if (/[/\\\0]/.test(suffix)) throw new UserError(`--suffix "${suffix}" must not contain a path separator`);
  if (!args.inputs.length) throw new UserError('--input is required (a folder of photos, or photo files)');
  if (!f.output) throw new UserError('--output is required (the folder to write the restored photos into)');
  const outDir = f.output;
  const outReal = await realOrResolved(outDir);

  // The inputs: one folder, or files (each must be a regular file, as restore requires).
  let files: string[];
  const first = await stat(args.inputs[0]!).catch(() => null);
  if (args.inputs.length === 1 && first?.isDirectory()) {
    const folder = args.inputs[0]!;
    const sameFolder = (await realOrResolved(folder)) === outReal;
    const mask = f.mask && f.mask !== 'none' ? await realOrResolved(f.mask) : undefined;
    files = await listPhotoFolder(folder, (name, path) => {
      // Written into the photos' own folder, an earlier run's outputs carry the suffix: not photos to restore.
      if (sameFolder && suffix && basename(name, extname(name)).endsWith(suffix)) return true;
      return mask !== undefined && resolve(path) === mask;
    });
  } else {
    for (const input of args.inputs) await checkRegularFile(input, 'image');
    files = args.inputs;
  }

  // Where each goes; nothing may land on an original, nor two photos on one name.
  if (!suffix) {
    for (const file of files) {
      if ((await realOrResolved(dirname(file))) === outReal)
        throw new UserError(`--output ${outDir} is the folder of ${file}: give --suffix (e.g. --suffix -restored) or another folder, so that no original can be overwritten`);
    }
  }
  const entries: Entry[] = files.map((input) => {
    const ext = format === 'same' ? extname(input) : OUTPUT_EXTENSION[format];
    return { input, output: join(outDir, `${basename(input, extname(input))}${suffix}${ext}`), name: basename(input), status: 'pending', notes: [] };
  });
  const byOutput = new Map<string, string>();
  const inputsReal = new Set(await Promise.all(files.map(realOrResolved)));
  for (const e of entries) {
    const key = resolve(e.output);
    const other = byOutput.get(key);
    if (other) throw new UserError(`${other} and ${e.input} would both be written to ${e.output}; use --format same, or restore them separately`);
    byOutput.set(key, e.input);
    if (inputsReal.has(await realOrResolved(e.output))) throw new UserError(`the output ${e.output} of ${e.input} is one of the inputs; choose another --suffix or folder`);
  }
  const outStat = await stat(outDir).catch(() => null);
  if (outStat && !outStat.isDirectory()) throw new UserError(`--output ${outDir} is not a folder`);
  if (!outStat) {
    await mkdir(outDir, { recursive: true }).catch((err: unknown) => {
      throw new UserError(`cannot create the folder ${outDir}: ${fsReason(err)}`);
    });
  }

  for (const e of entries) if (await alreadyDone(e.output)) e.status = 'skipped';

  const total = entries.length;
  const tty = !f.json && process.stderr.isTTY === true;
  const line = (text: string): void => void process.stderr.write(tty ? `\r\x1b[K${text}\n` : `${text}\n`);
  let cancelled = false;
  // Loaded once for the whole batch, and only when there is a photo to restore. A model or
  // provider that cannot be loaded fails the command (status 1), not each photo.
  const note = (text: string): void => void process.stderr.write(`note: ${text}\n`);
  const model: RestoreModel | undefined = entries.some((e) => e.status === 'pending') ? await loadRestoreModel(f, plan, note) : undefined;
  try {
    for (const [i, e] of entries.entries()) {
      const label = `[${i + 1}/${total}] ${e.name}`;
      if (e.status === 'skipped') {
        line(`${label} ... skipped (${e.output} is already there)`);
        continue;
      }
      if (signal.aborted) {
        cancelled = true;
        break;
      }
      if (!tty) process.stderr.write(`${label} ... `);
      const started = performance.now();
      try {
        const job = await openJob(f, plan, e.input, e.output, files);
        e.result = await restoreJob(f, plan, model!, job, signal, (note) => e.notes.push(note), label);
        e.status = 'done';
        e.seconds = (performance.now() - started) / 1000;
        if (tty) line(`${label} ... done in ${e.seconds.toFixed(1)} s`);
        else process.stderr.write(`done in ${e.seconds.toFixed(1)} s\n`);
        if (!f.json) for (const note of e.notes) process.stderr.write(`    note: ${note}\n`);
      } catch (err) {
        if (err instanceof CancelledError || signal.aborted) {
          e.status = 'cancelled';
          if (!tty) process.stderr.write('cancelled\n');
          cancelled = true;
          break;
        }
        e.status = 'failed';
        e.reason = err instanceof UserError ? err.message : `internal error: ${firstLine(err)}`;
        if (tty) line(`${label} ... failed: ${e.reason}`);
        else process.stderr.write(`failed: ${e.reason}\n`);
      }
    }
  } finally {
    await model?.release();
  }
  for (const e of entries) if (e.status === 'pending') e.status = 'cancelled';

  const count = (s: Entry['status']): number => entries.filter((e) => e.status === s).length;
  const [done, skipped, failed] = [count('done'), count('skipped'), count('failed')];
  if (f.json) {
    const files = entries.map((e) => ({
      input: resolve(e.input),
      output: resolve(e.output),
      status: e.status,
      ...(e.seconds !== undefined && { seconds: e.seconds }),
      ...(e.reason !== undefined && { reason: e.reason }),
      ...(e.notes.length && { notes: e.notes }),
      ...(e.result && { result: e.result }),
    }));
    process.stdout.write(`${JSON.stringify({ output: resolve(outDir), total, done, skipped, failed, cancelled, files })}\n`);
  } else {
    const rest = count('cancelled');
    let out = `${done} restored, ${skipped} skipped (already done), ${failed} failed${rest ? `, ${rest} not done (cancelled)` : ''}, of ${total} in ${outDir}\n`;
    for (const e of entries) if (e.status === 'failed') out += `failed: ${e.name}: ${e.reason}\n`;
    process.stdout.write(out);
  }
  if (cancelled) {
    process.stderr.write('cancelled; the photos restored so far are kept: run the same command again to finish the rest\n');
    return 130;
  }
  return failed ? EXIT_SOME_FAILED : 0;
}
