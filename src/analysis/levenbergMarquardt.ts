/**
 * Levenberg–Marquardt on the equations ∇L(θ) = 0 (HW1 1-2, "when the
 * gradient is almost zero"): the residual is the gradient g and its Jacobian
 * the Hessian H, so a step solves (H² + μI) δ = −H g. With μ → 0 that is
 * Newton's step on g, which lands on a quadratic's critical point at once and
 * converges to saddles as readily as to minima (what a study of critical
 * points needs); a large μ makes it a short gradient step on ½‖g‖². μ follows
 * Marquardt's rule on ‖g‖²: lowered after a step that reduced it, raised (and
 * the step retried) otherwise.
 */
import { CholeskyDecomposition, Matrix } from 'ml-matrix';

/** The gradient and the full Hessian of the loss at θ (float64). */
export interface GradientAndHessian {
  loss: number;
  gradient: Float64Array;
  /** Row-major P × P, symmetric. */
  hessian: Float64Array;
}

export type SecondOrderOracle = (theta: Float64Array) => Promise<GradientAndHessian>;

export interface LevenbergMarquardtOptions {
  /** Stop when ||g|| falls below this (default 1e-10). */
  tolerance?: number;
  /** Most accepted steps (default 200). */
  maxSteps?: number;
  /** Most evaluations, retries included (default 5 × maxSteps). */
  maxEvaluations?: number;
  /** Starting damping, relative to the largest |diagonal| of H² (default 1e-3). */
  initialDamping?: number;
  /** Factor μ is divided by after a good step and multiplied by after a bad one (default 10). */
  factor?: number;
}

export interface LevenbergMarquardtResult {
  theta: Float64Array;
  loss: number;
  gradientNorm: number;
  /** ||g|| at the start and after every accepted step. */
  gradientNorms: number[];
  steps: number;
  evaluations: number;
  /** Why it stopped. */
  stop: 'tolerance' | 'step limit' | 'evaluation limit' | 'stalled';
  damping: number;
}

export async function levenbergMarquardt(oracle: SecondOrderOracle, start: ArrayLike<number>, options: LevenbergMarquardtOptions = {}): Promise<LevenbergMarquardtResult> {
  const tolerance = options.tolerance ?? 1e-10;
  const maxSteps = options.maxSteps ?? 200;
  const maxEvaluations = options.maxEvaluations ?? 5 * maxSteps;
  const factor = options.factor ?? 10;
  let theta = Float64Array.from(start);
  let current = await oracle(theta);
  let evaluations = 1;
  let norm = l2(current.gradient);
  const gradientNorms = [norm];
  let mu = Number.NaN;
  let steps = 0;
  let stop: LevenbergMarquardtResult['stop'] = 'step limit';
  while (true) {
    if (norm < tolerance) {
      stop = 'tolerance';
      break;
    }
    if (steps >= maxSteps) {
      stop = 'step limit';
      break;
    }
    if (evaluations >= maxEvaluations) {
      stop = 'evaluation limit';
      break;
    }
    const { square, rhs } = normalEquations(current);
    if (Number.isNaN(mu)) mu = (options.initialDamping ?? 1e-3) * Math.max(...square.diag().map(Math.abs), Number.MIN_VALUE);
    const delta = solveDamped(square, rhs, mu);
    const candidate = theta.map((v, i) => v + delta[i]!);
    const next = await oracle(candidate);
    evaluations++;
    const nextNorm = l2(next.gradient);
    if (Number.isFinite(nextNorm) && nextNorm < norm) {
      theta = candidate;
      current = next;
      norm = nextNorm;
      gradientNorms.push(norm);
      steps++;
      mu /= factor;
    } else {
      mu *= factor;
      // Damping this large makes δ vanish: nothing more to gain in float64.
      if (!Number.isFinite(mu) || mu > 1e30) {
        stop = 'stalled';
        break;
      }
    }
  }
  return { theta, loss: current.loss, gradientNorm: norm, gradientNorms, steps, evaluations, stop, damping: mu };
}

/** H² and -H g: the normal equations of the linearized residual g(θ + δ) ≈ g + H δ. */
function normalEquations({ gradient, hessian }: GradientAndHessian): { square: Matrix; rhs: Float64Array } {
  const size = gradient.length;
  // The Hessian of double backward is symmetric to round-off only; its symmetric part, and H² made exactly symmetric, keep Cholesky applicable.
  const h = new Matrix(size, size);
  for (let i = 0; i < size; i++) for (let j = 0; j < size; j++) h.set(i, j, (hessian[i * size + j]! + hessian[j * size + i]!) / 2);
  const square = h.mmul(h);
  for (let i = 0; i < size; i++) {
    for (let j = i + 1; j < size; j++) {
      const mean = (square.get(i, j) + square.get(j, i)) / 2;
      square.set(i, j, mean);
      square.set(j, i, mean);
    }
  }
  const rhs = Float64Array.from(h.mmul(Matrix.columnVector(Array.from(gradient))).getColumn(0), (v) => -v);
  return { square, rhs };
}

/** (A + μI) δ = b for symmetric positive semidefinite A, by Cholesky (positive definite once μ > 0). */
function solveDamped(square: Matrix, rhs: Float64Array, mu: number): Float64Array {
  const damped = square.clone();
  for (let i = 0; i < damped.rows; i++) damped.set(i, i, damped.get(i, i) + mu);
  const cholesky = new CholeskyDecomposition(damped);
  return Float64Array.from(cholesky.solve(Matrix.columnVector(Array.from(rhs))).getColumn(0));
}

function l2(values: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += values[i]! * values[i]!;
  return Math.sqrt(sum);
}
