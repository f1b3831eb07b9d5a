/**
 * Imported models on disk: models/imported/<name>.onnx, the file as it was
 * imported, and <name>.json, its record (task, input shape, data set, the
 * file's sha256). HW1_MODELS_DIR moves the models folder (tests use a
 * temporary one, so they never write into the repository).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeFileAtomic, writeJsonAtomic } from '../util/atomicWrite.ts';
import { UserError } from '../util/errors.ts';
import { analyzeOnnx, importedModelDeclaration, type ImportedModelRecord } from './imported.ts';
import type { ModelDeclaration, Task } from './model.ts';

export const MODELS_DIR_VARIABLE = 'HW1_MODELS_DIR';

/** The model names resolveModel accepts. */
export const MODEL_NAME = /^[a-z0-9][a-z0-9-]*$/;

/** The models folder: $HW1_MODELS_DIR, or models/ of this package. */
export function modelsDir(): string {
  return process.env[MODELS_DIR_VARIABLE] || fileURLToPath(new URL('../../models', import.meta.url));
}

export function importedModelsDir(): string {
  return join(modelsDir(), 'imported');
}

export function importedModelPaths(name: string): { onnx: string; json: string } {
  const dir = importedModelsDir();
  return { onnx: join(dir, `${name}.onnx`), json: join(dir, `${name}.json`) };
}

/** Names of the imported models, sorted: every <name>.json of models/imported/. */
export function importedModelNames(): string[] {
  const dir = importedModelsDir();
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((file) => file.endsWith('.json') && !file.startsWith('.'))
    .map((file) => file.slice(0, -'.json'.length))
    .sort();
}

const TASKS: readonly Task[] = ['classification', 'regression'];

function readRecord(path: string): ImportedModelRecord {
  const corrupt = (why: string): never => {
    throw new UserError(`imported model record ${path} ${why}; import the model again with hw1-onnx import FILE.onnx --name NAME --force`);
  };
  let record: Partial<ImportedModelRecord>;
  try {
    record = JSON.parse(readFileSync(path, 'utf8')) as Partial<ImportedModelRecord>;
  } catch (error) {
    return corrupt(`cannot be read (${(error as Error).message})`);
  }
  if (typeof record.name !== 'string') corrupt('has no name');
  if (!TASKS.includes(record.task as Task)) corrupt(`has task ${JSON.stringify(record.task)}, not classification or regression`);
  if (!Array.isArray(record.inputShape) || !record.inputShape.every((d) => Number.isInteger(d) && d > 0)) corrupt('has no valid inputShape');
  if (typeof record.dataset !== 'string' || typeof record.sha256 !== 'string') corrupt('lacks its dataset or sha256');
  return { description: '', source: '', ...record } as ImportedModelRecord;
}

/** The declaration of imported model `name`, or undefined when there is none. */
export function loadImportedModel(name: string): ModelDeclaration | undefined {
  if (!MODEL_NAME.test(name)) return undefined;
  const paths = importedModelPaths(name);
  if (!existsSync(paths.json)) return undefined;
  const record = readRecord(paths.json);
  if (!existsSync(paths.onnx)) throw new UserError(`imported model ${name}: ${paths.onnx} is missing; import it again (hw1-onnx import FILE.onnx --name ${name} --force)`);
  const bytes = readFileSync(paths.onnx);
  const imported = analyzeOnnx(bytes, `${name}.onnx`, { inputShape: record.inputShape });
  if (imported.sha256 !== record.sha256) {
    throw new UserError(`imported model ${name}: ${paths.onnx} changed after it was imported (its sha256 differs from ${name}.json's); import it again with --force`);
  }
  return importedModelDeclaration(imported, { ...record, name });
}

/**
 * Writes the .onnx copy and its record, each atomically; an existing model of
 * that name is refused unless `force`.
 */
export function saveImportedModel(record: ImportedModelRecord, bytes: Uint8Array, force: boolean): { onnx: string; json: string } {
  const paths = importedModelPaths(record.name);
  if (!force && (existsSync(paths.json) || existsSync(paths.onnx))) {
    throw new UserError(`imported model "${record.name}" exists already (${paths.json}); choose another --name, or pass --force to replace it`);
  }
  // The record goes last and names the file's hash, so a half-finished replacement is refused on load.
  writeFileAtomic(paths.onnx, bytes);
  writeJsonAtomic(paths.json, record);
  return paths;
}
