import { modelDeclarations } from '../../models/index.ts';
import { UserError } from '../util/errors.ts';
import { importedModelNames, loadImportedModel } from './importedStore.ts';
import { resolveModel, type Model, type ModelDeclaration } from './model.ts';

/** The models of models/index.ts, then those imported into models/imported/ (hw1-onnx import). */
export function modelNames(): string[] {
  const builtIn = modelDeclarations.map((declaration) => declaration.name);
  return [...builtIn, ...importedModelNames().filter((name) => !builtIn.includes(name))];
}

/** Every model's declaration, in modelNames() order. */
export function allModelDeclarations(): ModelDeclaration[] {
  return modelNames().map(findDeclaration);
}

function findDeclaration(name: string): ModelDeclaration {
  const declaration = modelDeclarations.find((d) => d.name === name) ?? loadImportedModel(name);
  if (!declaration) {
    const near = modelNames().filter((candidate) => candidate.startsWith(name.slice(0, 3)));
    throw new UserError(`unknown model "${name}" (known: ${(near.length ? near : modelNames()).join(', ')}; list them with: hw1-onnx build models --list)`);
  }
  return declaration;
}

export function findModel(name: string): Model {
  return resolveModel(findDeclaration(name));
}
