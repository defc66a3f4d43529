/**
 * The one TensorFlow.js instance of the workspace (tensor-ops' `tf`): every tensor of this plugin
 * lives in the engine whose backend the runner chose.
 */
export { tf } from '@cascade-lab/tensor-ops';
import type { tf as TF } from '@cascade-lab/tensor-ops';
export type Tensor = TF.Tensor;
export type Tensor1D = TF.Tensor1D;
export type Tensor2D = TF.Tensor2D;
export type Scalar = TF.Scalar;
export type Variable = TF.Variable;
