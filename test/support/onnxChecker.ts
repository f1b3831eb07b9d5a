/**
 * The official ONNX checker (Debian's python3-onnx, importable only by
 * /usr/bin/python3), with full shape inference in strict mode. Returns null
 * when it is not installed, so tests can skip and say why.
 */
import { spawnSync } from 'node:child_process';

const PYTHON = '/usr/bin/python3';

export function onnxCheckerVersion(): string | null {
  const probe = spawnSync(PYTHON, ['-c', 'import onnx; print(onnx.__version__)'], { encoding: 'utf8' });
  return probe.status === 0 ? probe.stdout.trim() : null;
}

export const CHECKER_SKIP_REASON =
  'the ONNX checker is not installed: apt-get install python3-onnx (Debian) to run this check';

/** Runs check_model(full_check=True) on each file; returns one error string per failing file. */
export function checkOnnxFiles(paths: string[]): string[] {
  const script = [
    'import sys, onnx',
    'bad = []',
    'for path in sys.argv[1:]:',
    '    try:',
    '        onnx.checker.check_model(onnx.load(path), full_check=True)',
    '    except Exception as e:',
    '        bad.append(path + ": " + str(e).splitlines()[0])',
    'print("\\n".join(bad))',
  ].join('\n');
  const result = spawnSync(PYTHON, ['-c', script, ...paths], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`checker crashed: ${result.stderr}`);
  return result.stdout.split('\n').filter(Boolean);
}
