import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { runCli } from '../support/cli.ts';

// The README's worked example (Analyzing any model), on the committed outputs of examples/pytorch-net/export.py.
const scratch = mkdtempSync(join(tmpdir(), 'hw1-worked-example-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

const cli = (...args: string[]) => runCli(args, { HW1_MODELS_DIR: join(scratch, 'models') });

describe('the README\'s worked example', () => {
  it('imports the exported network and analyzes its Hessian at the saved state_dict', () => {
    const imported = cli('import', 'examples/pytorch-net/my-net.onnx', '--name', 'my-net');
    assert.equal(imported.code, 0, imported.stderr);
    assert.match(imported.stdout, /fc1\.weight \[32, 784\], fc1\.bias \[32\], fc2\.weight \[10, 32\], fc2\.bias \[10\]/);
    const out = join(scratch, 'out');
    const hessian = cli('analyze', 'hessian', '--model', 'my-net', '--weights', 'examples/pytorch-net/my-net.safetensors', '--examples', '500', '--out', out, '--threads', '1', '--json');
    assert.equal(hessian.code, 0, hessian.stderr);
    const report = JSON.parse(hessian.stdout);
    assert.deepEqual(report, JSON.parse(readFileSync(join(out, 'analysis', 'my-net-hessian.json'), 'utf8')));
    assert.equal(report.parameters, 25450);
    assert.equal(report.examples, 500);
    // The README quotes these numbers: they must be what the command prints.
    const readme = readFileSync('README.md', 'utf8');
    const quoted = /my-net hessian on 500 examples \(25450 parameters\): loss ([\d.]+), lambda_max ([\d.]+), trace ([\d.]+)/.exec(readme);
    assert.ok(quoted, 'the README quotes the summary line');
    assert.equal(Number(quoted[1]).toFixed(5), report.loss.toFixed(5));
    assert.equal(Number(quoted[2]).toPrecision(6), report.lambda_max.toPrecision(6));
    assert.ok(report.top_eigenvalues.length === 5 && report.trace > 0);
  });
});
