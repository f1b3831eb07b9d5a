import { modelDeclarations } from '../../models/index.ts';
import { UserError } from '../util/errors.ts';
import { resolveModel, type Model } from './model.ts';

export function modelNames(): string[] {
  return modelDeclarations.map((declaration) => declaration.name);
}

export function findModel(name: string): Model {
  const declaration = modelDeclarations.find((d) => d.name === name);
  if (!declaration) {
    const near = modelNames().filter((candidate) => candidate.startsWith(name.slice(0, 3)));
    throw new UserError(`unknown model "${name}" (known: ${(near.length ? near : modelNames()).join(', ')}; list them with: hw1-onnx build models --list)`);
  }
  return resolveModel(declaration);
}
