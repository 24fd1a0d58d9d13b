/**
 * A minimal protobuf writer for one ONNX graph: C = A B with A, B float32 [n, n] graph inputs
 * (opset 17). The benchmark's ceiling: onnxruntime's GFLOP/s on a large MatMul, with the same
 * session options as the model. Field numbers from onnx/onnx.proto (ModelProto, GraphProto, ...).
 */

function varint(n: number): number[] {
  const out: number[] = [];
  let v = BigInt(n);
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) b |= 0x80;
    out.push(b);
  } while (v > 0n);
  return out;
}

const key = (field: number, wire: 0 | 2): number[] => varint((field << 3) | wire);
const int = (field: number, v: number): number[] => [...key(field, 0), ...varint(v)];
const bytes = (field: number, b: number[]): number[] => [...key(field, 2), ...varint(b.length), ...b];
const str = (field: number, s: string): number[] => bytes(field, [...Buffer.from(s, 'utf8')]);

/** ValueInfoProto of a float tensor of fixed shape. */
function floatTensor(name: string, dims: number[]): number[] {
  const shape = dims.flatMap((d) => bytes(1, int(1, d))); // TensorShapeProto.dim { dim_value }
  const tensorType = [...int(1, 1), ...bytes(2, shape)]; // elem_type FLOAT = 1, shape
  const type = bytes(1, tensorType); // TypeProto.tensor_type
  return [...str(1, name), ...bytes(2, type)];
}

export function matmulModel(n: number): Uint8Array {
  const node = [...str(1, 'A'), ...str(1, 'B'), ...str(2, 'C'), ...str(3, 'matmul'), ...str(4, 'MatMul')];
  const graph = [...bytes(1, node), ...str(2, 'matmul-ceiling'), ...bytes(11, floatTensor('A', [n, n])), ...bytes(11, floatTensor('B', [n, n])), ...bytes(12, floatTensor('C', [n, n]))];
  const opset = [...str(1, ''), ...int(2, 17)];
  const model = [...int(1, 8), ...str(2, 'vmlmap-bench'), ...bytes(7, graph), ...bytes(8, opset)];
  return Uint8Array.from(model);
}

/** A protobuf reader just deep enough for ONNX graphs: nodes, initializer shapes, Constant shapes. */
class Reader {
  pos = 0;
  constructor(
    private readonly buf: Uint8Array,
    private readonly end = buf.length,
  ) {}

  more(): boolean {
    return this.pos < this.end;
  }

  varint(): number {
    let result = 0;
    let mul = 1;
    for (;;) {
      const b = this.buf[this.pos++]!;
      result += (b & 0x7f) * mul;
      if (b < 0x80) return result;
      mul *= 128;
    }
  }

  /** Next field: its number, wire type, and (length-delimited) a sub-reader or (varint) a value. */
  field(): { no: number; wire: number; sub?: Reader; value?: number } {
    const k = this.varint();
    const no = Math.floor(k / 8);
    const wire = k & 7;
    if (wire === 0) return { no, wire, value: this.varint() };
    if (wire === 1) {
      this.pos += 8;
      return { no, wire };
    }
    if (wire === 5) {
      this.pos += 4;
      return { no, wire };
    }
    if (wire === 2) {
      const len = this.varint();
      const sub = new Reader(this.buf, this.pos + len);
      sub.pos = this.pos;
      this.pos += len;
      return { no, wire, sub };
    }
    throw new Error(`unsupported protobuf wire type ${wire}`);
  }

  string(): string {
    return Buffer.from(this.buf.subarray(this.pos, this.end)).toString('utf8');
  }
}

export interface OnnxNode {
  name: string;
  opType: string;
  inputs: string[];
  outputs: string[];
}

export interface OnnxGraphInfo {
  nodes: OnnxNode[];
  /** Shapes of the initializers and of Constant nodes' outputs, by name. */
  shapes: Map<string, number[]>;
}

function tensorDims(r: Reader): { name: string; dims: number[] } {
  const dims: number[] = [];
  let name = '';
  while (r.more()) {
    const f = r.field();
    if (f.no === 1 && f.wire === 0) dims.push(f.value!);
    else if (f.no === 1 && f.sub)
      while (f.sub.more()) dims.push(f.sub.varint()); // packed
    else if (f.no === 8 && f.sub) name = f.sub.string();
  }
  return { name, dims };
}

/** Nodes and constant shapes of an .onnx file's main graph. */
export function readOnnxGraph(bytes: Uint8Array): OnnxGraphInfo {
  const model = new Reader(bytes);
  const nodes: OnnxNode[] = [];
  const shapes = new Map<string, number[]>();
  while (model.more()) {
    const mf = model.field();
    if (mf.no !== 7 || !mf.sub) continue;
    const g = mf.sub;
    while (g.more()) {
      const gf = g.field();
      if (!gf.sub) continue;
      if (gf.no === 5) {
        const t = tensorDims(gf.sub);
        shapes.set(t.name, t.dims);
      } else if (gf.no === 1) {
        const node: OnnxNode = { name: '', opType: '', inputs: [], outputs: [] };
        let constant: number[] | undefined;
        while (gf.sub.more()) {
          const nf = gf.sub.field();
          if (!nf.sub) continue;
          if (nf.no === 1) node.inputs.push(nf.sub.string());
          else if (nf.no === 2) node.outputs.push(nf.sub.string());
          else if (nf.no === 3) node.name = nf.sub.string();
          else if (nf.no === 4) node.opType = nf.sub.string();
          else if (nf.no === 5) {
            // AttributeProto: name = 1, t = 5 (a TensorProto)
            while (nf.sub.more()) {
              const af = nf.sub.field();
              if (af.no === 5 && af.sub) constant = tensorDims(af.sub).dims;
            }
          }
        }
        if (node.opType === 'Constant' && constant && node.outputs[0]) shapes.set(node.outputs[0], constant);
        nodes.push(node);
      }
    }
  }
  return { nodes, shapes };
}
