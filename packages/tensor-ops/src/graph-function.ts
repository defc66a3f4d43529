/**
 * Graph functions: run a pure tensor function as one TensorFlow graph on the tensorflow backend.
 *
 * Why: through tfjs-node every op is one eager TensorFlow call that costs 20-40 us of dispatch
 * however small its tensors are, and NDM's and GammaCas' training steps are hundreds to thousands
 * of small ops. A TensorFlow graph runs the same kernels for about 1 us of overhead each. TensorFlow.js
 * has no graph mode of its own for the node backend, but the addon can load and run a SavedModel, so
 * a `GraphFunction`:
 *
 * 1. on the first call with a new input signature (shapes, dtypes and the caller's key), runs the
 *    function eagerly while recording every TensorFlow op the backend executes (op name,
 *    attributes, which earlier op or input each operand came from) and every tensor made from host
 *    values inside it (recorded as a constant);
 * 2. writes the ops that the outputs depend on as a GraphDef (with a Placeholder per input and an
 *    Identity per output) into a SavedModel, loads it as a TensorFlow session and deletes the files;
 * 3. on every later call with that signature, feeds the inputs to the session and returns its
 *    outputs: one native call instead of one per op.
 *
 * The first call returns the eager results, so the first and later calls compute the same thing
 * (the graph runs the very kernels the eager run called, with the same attributes).
 *
 * The contract: the function must be a pure function of its inputs (and, with `captureExternal`,
 * of the tensors it captures). A tensor it makes from host
 * values (`tf.tensor(...)`, `tf.scalar(...)`, a number operand such as `tf.mul(x, 0.5)`, and also
 * `tf.randomUniform`, which tfjs draws on the host) is frozen into the graph as a constant, so
 * values that change between calls (learning rates, random masks, data) must be inputs. Tensors made
 * before the call must be inputs too (the trace refuses others, naming the op) unless
 * `captureExternal` is set, and the function may
 * not read tensor values (`dataSync`, `arraySync`): that would make the graph depend on them.
 *
 * On other backends (wasm, cpu), and with `CASCADE_GRAPH_FUNCTIONS=off`, calls run the function
 * eagerly: the results are the same to rounding, only slower.
 */
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CascadeError } from '@cascade-lab/core';
import { tf } from './tf.js';

type Tensor = tf.Tensor;

/** The parts of tfjs-node's native binding a trace needs (dist/tfjs_binding.d.ts). */
interface OpAttr {
  name: string;
  type: number;
  value: boolean | number | string | number[] | object;
}
interface TensorMetadata {
  id: number;
  shape: number[];
  dtype: number;
}
interface Binding {
  createTensor(shape: number[], dtype: number, values: ArrayBufferView): number;
  executeOp(opName: string, attrs: OpAttr[], inputIds: number[], numOutputs: number): TensorMetadata[];
  tensorDataSync(id: number): ArrayBufferView;
  deleteTensor(id: number): void;
  loadSavedModel(dir: string, tags: string): number;
  deleteSavedModel(id: number): void;
  runSavedModel(id: number, inputIds: number[], inputNames: string, outputNames: string): TensorMetadata[];
  TF_FLOAT: number;
  TF_INT32: number;
  TF_BOOL: number;
  TF_ATTR_STRING: number;
  TF_ATTR_INT: number;
  TF_ATTR_FLOAT: number;
  TF_ATTR_BOOL: number;
  TF_ATTR_TYPE: number;
  TF_ATTR_SHAPE: number;
}
interface NodeBackend {
  binding: Binding;
  getInputTensorIds(tensors: Tensor[]): number[];
  createOutputTensor(metadata: TensorMetadata): Tensor;
}

/** One recorded node: an op or a constant made from host values. */
type TracedNode =
  | { kind: 'op'; name: string; op: string; attrs: OpAttr[]; inputs: string[]; inputTypes: number[] }
  | { kind: 'const'; name: string; shape: number[]; dtype: number; values: ArrayBufferView };

interface Trace {
  label: string;
  nodes: TracedNode[];
  /** Native tensor id -> the graph tensor it is ("node" or "node:k"). */
  refs: Map<number, string>;
  /** Native tensor id -> its TensorFlow dtype (for attributes eager execution infers). */
  types: Map<number, number>;
  /** tfjs tensor ids below this were made before the call. */
  firstTensorId: number;
  /** With `captureExternal`: tensors made before the call and used inside, fed after the inputs. */
  captured: Tensor[] | null;
}

/** A compiled signature: a loaded session and the names to feed and fetch. */
interface CompiledGraph {
  session: number;
  inputNames: string;
  outputNames: string;
  /** Ops in the graph (after pruning), for `stats`. */
  ops: number;
  /** Captured tensors (variables, cached constants), fed after the inputs at every call. */
  captured: Tensor[];
}

let activeTrace: Trace | null = null;
let hookedBackend: NodeBackend | null = null;

function nodeBackend(): NodeBackend | null {
  if (tf.getBackend() !== 'tensorflow') return null;
  const backend = tf.backend() as unknown as NodeBackend;
  return backend.binding && typeof backend.binding.runSavedModel === 'function' ? backend : null;
}

/** Whether graph functions compile on the current backend (tensorflow, and not switched off). */
export function graphFunctionsEnabled(): boolean {
  const setting = (process.env.CASCADE_GRAPH_FUNCTIONS ?? 'on').toLowerCase();
  return setting !== 'off' && setting !== '0' && setting !== 'false' && nodeBackend() !== null;
}

/**
 * Routes the backend's native calls through the tracer. The binding object is frozen, so the
 * backend gets a copy whose `executeOp`, `createTensor` and `tensorDataSync` record (only while a
 * trace is active) and then call the original.
 */
function hook(backend: NodeBackend): void {
  if (hookedBackend === backend) return;
  const native = backend.binding;
  const wrapped: Record<string, unknown> = {};
  for (const key of Object.getOwnPropertyNames(native)) wrapped[key] = (native as unknown as Record<string, unknown>)[key];
  for (const key in native) if (!(key in wrapped)) wrapped[key] = (native as unknown as Record<string, unknown>)[key];
  wrapped.executeOp = (opName: string, attrs: OpAttr[], inputIds: number[], numOutputs: number): TensorMetadata[] => {
    const trace = activeTrace;
    const out = native.executeOp(opName, attrs, inputIds, numOutputs);
    if (trace) {
      const name = `op${trace.nodes.length}_${opName}`;
      const inputs = inputIds.map((id) => {
        const ref = trace.refs.get(id);
        if (ref === undefined) {
          for (const m of out) native.deleteTensor(m.id); // never handed to tfjs
          throw new CascadeError('INTERNAL', `graph function ${trace.label}: the ${opName} op takes a tensor that is neither an input of the function nor made inside it; pass it in as an input`);
        }
        return ref;
      });
      trace.nodes.push({ kind: 'op', name, op: opName, attrs: attrs.map((a) => ({ ...a })), inputs, inputTypes: inputIds.map((id) => trace.types.get(id) ?? -1) });
      out.forEach((m, k) => {
        trace.refs.set(m.id, k === 0 ? name : `${name}:${k}`);
        trace.types.set(m.id, m.dtype);
      });
    }
    return out;
  };
  wrapped.createTensor = (shape: number[], dtype: number, values: ArrayBufferView): number => {
    const id = native.createTensor(shape, dtype, values);
    const trace = activeTrace;
    if (trace) {
      const name = `const${trace.nodes.length}`;
      const copy = new Uint8Array(values.byteLength);
      copy.set(new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
      trace.nodes.push({ kind: 'const', name, shape: [...shape], dtype, values: copy });
      trace.refs.set(id, name);
      trace.types.set(id, dtype);
    }
    return id;
  };
  wrapped.tensorDataSync = (id: number): ArrayBufferView => {
    if (activeTrace && validationReads === 0) {
      throw new CascadeError('INTERNAL', `graph function ${activeTrace.label}: the function reads a tensor's values (dataSync/arraySync/data); a graph cannot depend on them: read them after the call`);
    }
    return native.tensorDataSync(id);
  };
  const originalInputIds = backend.getInputTensorIds.bind(backend);
  backend.getInputTensorIds = (tensors: Tensor[]): number[] => {
    const trace = activeTrace;
    if (trace) {
      for (const t of tensors) {
        if (t instanceof tf.Tensor && t.id < trace.firstTensorId) {
          // Made before the call: must be an input (inputs are materialised and mapped up front).
          activeTrace = null; // materialising it here must not record it as a constant
          let id: number;
          try {
            id = originalInputIds([t])[0];
          } finally {
            activeTrace = trace;
          }
          if (!trace.refs.has(id) && trace.captured) {
            trace.refs.set(id, `capture${trace.captured.length}`);
            trace.types.set(id, tfDtype(t.dtype, native));
            trace.captured.push(t);
          } else if (!trace.refs.has(id)) {
            throw new CascadeError('INTERNAL', `graph function ${trace.label}: a tensor of shape [${t.shape.join(', ')}] made before the call is used inside it; pass it in as an input, or set captureExternal`);
          }
        }
      }
    }
    return originalInputIds(tensors);
  };
  backend.binding = wrapped as unknown as Binding;
  allowValidationReads();
  hookedBackend = backend;
}

/**
 * tfjs-node kernels that read their inputs on the host only to validate them (the graph's kernel
 * checks the same): GatherV2 checks that every index is in range. Reads inside them are allowed
 * during a trace.
 */
const VALIDATING_KERNELS = ['GatherV2'];
let validationReads = 0;
let validationKernelsWrapped = false;

function allowValidationReads(): void {
  if (validationKernelsWrapped) return;
  validationKernelsWrapped = true;
  for (const name of VALIDATING_KERNELS) {
    const kernel = tf.getKernel(name, 'tensorflow');
    if (!kernel) continue;
    const original = kernel.kernelFunc;
    tf.unregisterKernel(name, 'tensorflow');
    tf.registerKernel({
      ...kernel,
      kernelFunc: (args) => {
        validationReads++;
        try {
          return original(args);
        } finally {
          validationReads--;
        }
      },
    });
  }
}

// ---- GraphDef / SavedModel writing (tfjs-node ships the protobuf classes) ----

interface ProtoModule {
  [name: string]: new () => ProtoMessage;
}
type ProtoMessage = Record<string, (...args: unknown[]) => unknown> & { serializeBinary(): Uint8Array };
let protoModule: ProtoModule | null = null;
function proto(): ProtoModule {
  if (!protoModule) {
    const require = createRequire(import.meta.url);
    const candidates = ['@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu'].map((p) => `${p}/dist/proto/api_pb.js`);
    for (const candidate of candidates) {
      try {
        protoModule = require(candidate) as ProtoModule;
        break;
      } catch {
        // try the next package
      }
    }
    if (!protoModule) throw new CascadeError('INTERNAL', 'graph function: the TensorFlow protobuf classes of tfjs-node (dist/proto/api_pb.js) were not found');
  }
  return protoModule;
}

function shapeProto(shape: number[]): ProtoMessage {
  const pb = proto();
  const s = new pb.TensorShape();
  const Dim = (pb.TensorShape as unknown as { Dim: new () => ProtoMessage }).Dim;
  for (const size of shape) {
    const dim = new Dim();
    dim.setSize(size);
    s.addDim(dim);
  }
  return s;
}

function attrProto(attr: OpAttr, binding: Binding): ProtoMessage {
  const pb = proto();
  const value = new pb.AttrValue();
  if (attr.type === binding.TF_ATTR_SHAPE) {
    value.setShape(shapeProto(attr.value as number[]));
    return value;
  }
  // The AttrValue field of each attribute type: set<Field> for one value, ListValue.add<Field> for a list.
  const fields: [number, string][] = [
    [binding.TF_ATTR_INT, 'I'],
    [binding.TF_ATTR_FLOAT, 'F'],
    [binding.TF_ATTR_BOOL, 'B'],
    [binding.TF_ATTR_TYPE, 'Type'],
    [binding.TF_ATTR_STRING, 'S'],
  ];
  const field = fields.find(([type]) => type === attr.type)?.[1];
  if (!field) throw new CascadeError('INTERNAL', `graph function: attribute ${attr.name} of type ${attr.type} is not supported`);
  const encode = (v: unknown) => (field === 'S' ? new TextEncoder().encode(String(v)) : v);
  if (Array.isArray(attr.value)) {
    const list = new (pb.AttrValue as unknown as { ListValue: new () => ProtoMessage }).ListValue();
    for (const v of attr.value) list[`add${field}`](encode(v));
    value.setList(list);
  } else {
    value[`set${field}`](encode(attr.value));
  }
  return value;
}

function nodeProto(name: string, op: string, inputs: string[], attrs: Record<string, ProtoMessage>): ProtoMessage {
  const node = new (proto().NodeDef)();
  node.setName(name);
  node.setOp(op);
  for (const input of inputs) node.addInput(input);
  const map = node.getAttrMap() as { set(key: string, value: ProtoMessage): void };
  for (const [key, value] of Object.entries(attrs)) map.set(key, value);
  return node;
}

function typeAttr(dtype: number): ProtoMessage {
  const v = new (proto().AttrValue)();
  v.setType(dtype);
  return v;
}

function tfDtype(dtype: tf.DataType, binding: Binding): number {
  if (dtype === 'float32') return binding.TF_FLOAT;
  if (dtype === 'int32') return binding.TF_INT32;
  if (dtype === 'bool') return binding.TF_BOOL;
  throw new CascadeError('INTERNAL', `graph function: inputs of dtype ${dtype} are not supported`);
}

/**
 * Type attributes some tfjs-node kernels leave for eager execution to infer from the operands
 * (a GraphDef must state them): op -> attribute -> index of the input whose dtype it is.
 */
const INFERRED_TYPE_ATTRS: Record<string, Record<string, number>> = {
  ExpandDims: { T: 0 },
};

/** The nodes the outputs depend on, in recorded (hence topological) order. */
function reachable(nodes: TracedNode[], outputs: string[]): TracedNode[] {
  const byName = new Map(nodes.map((n) => [n.name, n]));
  const keep = new Set<string>();
  const stack = outputs.map((ref) => ref.split(':')[0]);
  while (stack.length > 0) {
    const name = stack.pop()!;
    if (keep.has(name)) continue;
    keep.add(name);
    const node = byName.get(name);
    if (node?.kind === 'op') for (const input of node.inputs) stack.push(input.split(':')[0]);
  }
  return nodes.filter((n) => keep.has(n.name));
}

function savedModelBytes(inputs: Tensor[], dynamic: readonly DynamicDim[], trace: Trace, outputs: Tensor[], outputRefs: string[], binding: Binding): { bytes: Uint8Array; ops: number } {
  const pb = proto();
  const graph = new pb.GraphDef();
  const placeholder = (name: string, t: Tensor, dim: DynamicDim = null) => {
    const shape = new pb.AttrValue();
    shape.setShape(shapeProto(t.shape.map((size, k) => (k === dim ? -1 : size))));
    graph.addNode(nodeProto(name, 'Placeholder', [], { dtype: typeAttr(tfDtype(t.dtype, binding)), shape }));
  };
  inputs.forEach((t, i) => placeholder(`input${i}`, t, dynamic[i]));
  (trace.captured ?? []).forEach((t, i) => placeholder(`capture${i}`, t));
  const kept = reachable(trace.nodes, outputRefs);
  for (const node of kept) {
    if (node.kind === 'const') {
      const tensor = new pb.Tensor();
      tensor.setDtype(node.dtype);
      tensor.setTensorShape(shapeProto(node.shape));
      tensor.setTensorContent(node.values as Uint8Array);
      const value = new pb.AttrValue();
      value.setTensor(tensor);
      graph.addNode(nodeProto(node.name, 'Const', [], { dtype: typeAttr(node.dtype), value }));
    } else {
      const attrs: Record<string, ProtoMessage> = {};
      for (const a of node.attrs) attrs[a.name] = attrProto(a, binding);
      for (const [attr, input] of Object.entries(INFERRED_TYPE_ATTRS[node.op] ?? {})) {
        if (!(attr in attrs) && node.inputTypes[input] >= 0) attrs[attr] = typeAttr(node.inputTypes[input]);
      }
      graph.addNode(nodeProto(node.name, node.op, node.inputs, attrs));
    }
  }
  outputRefs.forEach((ref, i) => graph.addNode(nodeProto(`output${i}`, 'Identity', [ref], { T: typeAttr(tfDtype(outputs[i].dtype, binding)) })));
  const metaGraph = new pb.MetaGraphDef();
  const info = new (pb.MetaGraphDef as unknown as { MetaInfoDef: new () => ProtoMessage }).MetaInfoDef();
  info.addTags('serve');
  metaGraph.setMetaInfoDef(info);
  metaGraph.setGraphDef(graph);
  const savedModel = new pb.SavedModel();
  savedModel.setSavedModelSchemaVersion(1);
  savedModel.addMetaGraphs(metaGraph);
  return { bytes: savedModel.serializeBinary(), ops: kept.filter((n) => n.kind === 'op').length };
}

export interface GraphFunctionOptions {
  /** Names the function in errors and statistics. */
  name: string;
  /**
   * Let the function use tensors made before the call (model variables, cached constants) without
   * passing them as inputs: each becomes an implicit input, and later calls feed the same tensor
   * object (a variable's current value). Safe for variables and for tensors that are never
   * replaced; a function that reads a *different* tensor on a later call (one recomputed outside
   * between calls) must pass it as an input. A graph whose captured tensor was disposed is traced
   * again. Default false: such a use is an error.
   */
  captureExternal?: boolean;
  /** Always run eagerly (for a function that reads values on the host, such as a host-side custom op). */
  eager?: boolean;
  /**
   * The most compiled signatures kept; the least recently used is unloaded beyond it
   * (default 256). Each is a TensorFlow session holding its constants.
   */
  maxGraphs?: number;
}

export interface GraphFunctionStats {
  /** Signatures traced and compiled so far (including ones since unloaded). */
  compiled: number;
  /** Signatures loaded now. */
  loaded: number;
  /** Calls that ran a compiled graph. */
  graphCalls: number;
  /** Calls that ran eagerly (first calls of a signature, or graph functions off). */
  eagerCalls: number;
  /** Seconds spent writing and loading graphs. */
  compileSeconds: number;
  /** Ops in the most recently compiled graph. */
  lastGraphOps: number;
}

/** The dimension of an input whose size may differ between the calls one graph serves (null: none). */
export type DynamicDim = number | null | undefined;

/**
 * A tensor function compiled per input signature into a TensorFlow graph (see the module comment
 * for the contract). `call(inputs, key)` returns new tensors the caller owns; the function runs
 * inside tf.tidy, so its intermediate tensors are freed.
 */
export class GraphFunction {
  private readonly graphs = new Map<string, CompiledGraph>();
  private readonly maxGraphs: number;
  private readonly counters: GraphFunctionStats = { compiled: 0, loaded: 0, graphCalls: 0, eagerCalls: 0, compileSeconds: 0, lastGraphOps: 0 };

  constructor(
    private readonly fn: (inputs: Tensor[]) => Tensor[],
    private readonly options: GraphFunctionOptions,
  ) {
    this.maxGraphs = options.maxGraphs ?? 256;
  }

  get stats(): GraphFunctionStats {
    return { ...this.counters, loaded: this.graphs.size };
  }

  /**
   * Runs the function on `inputs`. `key` must distinguish calls whose inputs have the same shapes
   * and dtypes but whose function body differs (a different number of chunks, a flag). `eager`
   * runs this call eagerly (a body that reads values on the host this time).
   *
   * `dynamic[i]` names a dimension of input i whose size may vary: calls that differ only there
   * share one graph (its placeholder leaves that dimension unknown), so a function called with
   * many row counts compiles once instead of once per count. The function must then not depend
   * on that size anywhere but through the tensors: -1 in reshapes, and no slice sizes, ranges,
   * fills or fused matMul (which reshapes to the concrete size) along it. A size baked into the
   * graph by mistake fails the call or, worse, gives wrong numbers at other sizes, so test such a
   * function at several sizes against its eager run.
   */
  call(inputs: Tensor[], key = '', options: { eager?: boolean; dynamic?: readonly DynamicDim[] } = {}): Tensor[] {
    const backend = !this.options.eager && !options.eager && graphFunctionsEnabled() ? nodeBackend() : null;
    if (!backend) {
      this.counters.eagerCalls++;
      return tf.tidy(() => this.fn(inputs));
    }
    hook(backend);
    const dynamic = options.dynamic ?? [];
    const signature = `${key}|${inputs.map((t, i) => `${t.dtype}[${t.shape.map((size, k) => (k === dynamic[i] ? '?' : size)).join(',')}]`).join(';')}`;
    let graph = this.graphs.get(signature);
    if (graph && graph.captured.some((t) => t.isDisposed)) {
      backend.binding.deleteSavedModel(graph.session);
      this.graphs.delete(signature);
      graph = undefined;
    }
    if (graph) {
      // Most recently used last.
      this.graphs.delete(signature);
      this.graphs.set(signature, graph);
      this.counters.graphCalls++;
      const ids = backend.getInputTensorIds(graph.captured.length > 0 ? [...inputs, ...graph.captured] : inputs);
      const outputs = backend.binding.runSavedModel(graph.session, ids, graph.inputNames, graph.outputNames);
      return outputs.map((m) => backend.createOutputTensor(m));
    }
    this.counters.eagerCalls++;
    return this.traceAndCompile(backend, inputs, dynamic, signature);
  }

  private traceAndCompile(backend: NodeBackend, inputs: Tensor[], dynamic: readonly DynamicDim[], signature: string): Tensor[] {
    if (activeTrace) throw new CascadeError('INTERNAL', `graph function ${this.options.name}: called inside the trace of ${activeTrace.label}`);
    const inputIds = backend.getInputTensorIds(inputs);
    const trace: Trace = { label: this.options.name, nodes: [], refs: new Map(), types: new Map(), firstTensorId: nextTensorId(), captured: this.options.captureExternal ? [] : null };
    inputIds.forEach((id, i) => {
      trace.refs.set(id, `input${i}`);
      trace.types.set(id, tfDtype(inputs[i].dtype, backend.binding));
    });
    let outputs: Tensor[];
    activeTrace = trace;
    try {
      outputs = tf.tidy(() => this.fn(inputs));
    } finally {
      activeTrace = null;
    }
    const outputRefs = backend.getInputTensorIds(outputs).map((id, i) => {
      const ref = trace.refs.get(id);
      if (ref === undefined) {
        throw new CascadeError('INTERNAL', `graph function ${this.options.name}: output ${i} is neither an input nor made inside the function`);
      }
      return ref;
    });
    const start = performance.now();
    const { bytes, ops } = savedModelBytes(inputs, dynamic, trace, outputs, outputRefs, backend.binding);
    const dir = mkdtempSync(join(tmpdir(), 'cascade-graph-'));
    let session: number;
    try {
      mkdirSync(join(dir, 'variables'));
      writeFileSync(join(dir, 'saved_model.pb'), bytes);
      session = backend.binding.loadSavedModel(dir, 'serve');
    } catch (err) {
      throw new CascadeError('INTERNAL', `graph function ${this.options.name}: TensorFlow could not load the traced graph (${ops} ops): ${(err as Error).message}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    this.graphs.set(signature, {
      session,
      inputNames: [...inputs.map((_, i) => `input${i}:0`), ...(trace.captured ?? []).map((_, i) => `capture${i}:0`)].join(','),
      captured: trace.captured ?? [],
      outputNames: outputRefs.map((_, i) => `output${i}:0`).join(','),
      ops,
    });
    this.counters.compiled++;
    this.counters.lastGraphOps = ops;
    this.counters.compileSeconds += (performance.now() - start) / 1000;
    while (this.graphs.size > this.maxGraphs) {
      const [oldest, old] = this.graphs.entries().next().value as [string, CompiledGraph];
      backend.binding.deleteSavedModel(old.session);
      this.graphs.delete(oldest);
    }
    return outputs;
  }

  /** Unloads every compiled graph (the function stays usable; it compiles again on demand). */
  dispose(): void {
    const backend = nodeBackend();
    for (const graph of this.graphs.values()) backend?.binding.deleteSavedModel(graph.session);
    this.graphs.clear();
  }
}

/** The id the next tfjs tensor will get. */
function nextTensorId(): number {
  const probe = tf.tensor1d([0]);
  const id = probe.id;
  probe.dispose();
  return id + 1;
}
