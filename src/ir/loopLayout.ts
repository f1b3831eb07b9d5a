/**
 * A layout rewrite for Loop bodies whose hoisted values include a layer's
 * input or gradient, as in the Hessian-vector-product Loops.
 *
 * A dense layer's weight gradient is dY^T X: a Gemm with transA. MLAS
 * multiplies that layout at about half the speed of an untransposed Gemm
 * (measured: dY^T X 0.55 ms, X^T dY with X^T given 0.28 ms, for
 * 1000 x 784 x 32 in float64). Inside a Loop, when one operand does not
 * change between iterations, its transpose is computed once before the Loop
 * and the body multiplies untransposed: (A^T) B when A is fixed, ((B^T) A)^T
 * when B is. (In a training step this would gain nothing: X changes every
 * step, and onnxruntime folds the Transposes back into the slow Gemm.) The
 * Reshape between the product and its Transpose keeps onnxruntime's
 * GemmTransposeFusion from folding them back together.
 */
import { intAttribute } from './attributes.ts';
import type { Graph, Value } from './graph.ts';
import { gemm, reshape, transpose } from './ops.ts';

/** Rewrites matching Gemm nodes of `body`; returns the replaced output values, old -> new. */
export function untransposeWeightGradients(outer: Graph, body: Graph): Map<Value, Value> {
  const replaced = new Map<Value, Value>();
  for (const node of [...body.nodes]) {
    if (node.opType !== 'Gemm' || node.inputs.length !== 2 || intAttribute(node, 'transA', 0) !== 1 || intAttribute(node, 'transB', 0) !== 0) continue;
    if (node.attributes.alpha) continue;
    const [a, b] = node.inputs as [Value, Value];
    const [rows, columns] = node.outputs[0]!.shape;
    // Below about a thousand outputs the extra Transpose costs more than the layout saves.
    if (typeof rows !== 'number' || typeof columns !== 'number' || rows * columns < 1024) continue;
    const hoistedTranspose = (value: Value) =>
      body.outerReference(outer.withScopePath(`${node.name}/hoisted`, () => transpose(value, [1, 0], { name: 'input_T' })));

    const start = body.nodes.length;
    const result = body.withScopePath(node.name, () => {
      // A^T B with A fixed: (A^T) B, A^T transposed once before the Loop.
      if (a.graph === outer) return gemm(hoistedTranspose(a), b, null, { name: 'product' });
      // A^T B with B fixed and wide: ((B^T) A)^T.
      if (b.graph === outer && columns >= rows) {
        const product = gemm(hoistedTranspose(b), a, null, { name: 'product_T' });
        return transpose(reshape(product, [columns, rows], { name: 'unfused' }), [1, 0], { name: 'product' });
      }
      return null;
    });
    if (!result) continue;
    // Put the new nodes where the old one was, and point its consumers at the result.
    const added = body.nodes.splice(start);
    body.nodes.splice(body.nodes.indexOf(node), 1, ...added);
    const old = node.outputs[0]!;
    for (const consumer of body.nodes) {
      const inputs = consumer.inputs as (Value | null)[];
      inputs.forEach((value, i) => {
        if (value === old) inputs[i] = result;
      });
    }
    replaced.set(old, result);
  }
  return replaced;
}
