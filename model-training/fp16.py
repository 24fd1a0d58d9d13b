"""Half-precision copies of the exported graphs, for GPU execution providers.

    /usr/bin/python3 model-training/fp16.py IN.onnx OUT.onnx

Every float tensor of the network runs in float16 except:
- the timestep branch (everything computed from `t` and constants alone: the sinusoidal embedding
  and its MLP). sin(t f) at t near 999 needs more than float16's 11 significant bits, and the branch
  is a few hundred numbers, so it stays float32 and is cast where it meets the image path;
- the inputs and outputs, which stay float32 so that the engine's contract (docs/MODEL_CONTRACT.md)
  does not change: casts sit right after the inputs and right before the outputs;
- operands that ONNX requires in float32 whatever the data type (Resize's roi and scales).

Constants are converted once, not cast at run time. The caller measures the result against the
float32 graph; this module only rewrites.
"""
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper, shape_inference

FLOAT, HALF = TensorProto.FLOAT, TensorProto.FLOAT16
# (op_type, input index) that stay float32 in a float16 graph.
FP32_SLOTS = {("Resize", 1), ("Resize", 2)}


def _elem_types(model):
    inferred = shape_inference.infer_shapes(model)
    g = inferred.graph
    types = {}
    for vi in list(g.value_info) + list(g.input) + list(g.output):
        types[vi.name] = vi.type.tensor_type.elem_type
    for init in g.initializer:
        types[init.name] = init.data_type
    for node in g.node:
        if node.op_type == "Constant":
            for a in node.attribute:
                if a.name == "value":
                    types[node.output[0]] = a.t.data_type
    return types


def convert(model, fp32_inputs=("t",)):
    model = onnx.ModelProto.FromString(model.SerializeToString())
    g = model.graph
    types = _elem_types(model)
    is_float = lambda name: types.get(name) == FLOAT  # noqa: E731

    constants = {i.name: i for i in g.initializer}
    const_nodes = {n.output[0]: n for n in g.node if n.op_type == "Constant"}
    # The timestep branch: nodes that read a t-derived tensor and otherwise only constants. Nodes on
    # constants alone (the VJP graph's flipped kernels) are not in it: they run in float16 from the
    # weights' float16 twins, so that only one copy of the weights is stored.
    consts = set(constants) | set(const_nodes)
    tdep = set(fp32_inputs)
    nodes = list(g.node)  # by position: protobuf gives a new wrapper on every access, so no id()
    fp32_nodes = set()
    for k, n in enumerate(nodes):
        ins = [i for i in n.input if i]
        if n.op_type != "Constant" and any(i in tdep for i in ins) and all(i in tdep or i in consts for i in ins):
            fp32_nodes.add(k)
            tdep.update(n.output)
    side = tdep | consts

    new_nodes, new_inits = [], []
    half_of = {}  # float32 tensor name -> its float16 twin

    def half(name):
        """The float16 version of a float32 tensor, made once."""
        if name in half_of:
            return half_of[name]
        twin = name + "__fp16"
        if name in constants:
            arr = numpy_helper.to_array(constants[name]).astype(np.float16)
            new_inits.append(numpy_helper.from_array(arr, twin))
        elif name in const_nodes:
            t = next(a.t for a in const_nodes[name].attribute if a.name == "value")
            arr = numpy_helper.to_array(t).astype(np.float16)
            new_nodes.append(helper.make_node("Constant", [], [twin], value=numpy_helper.from_array(arr, twin)))
        else:
            new_nodes.append(helper.make_node("Cast", [name], [twin], to=HALF))
        half_of[name] = twin
        return twin

    graph_inputs = {i.name for i in g.input}
    out_names = {o.name for o in g.output}
    body = []
    for index, node in enumerate(nodes):
        if node.op_type == "Constant":
            body.append(node)
            continue
        if index in fp32_nodes:
            body.append(node)
            continue
        for k, name in enumerate(node.input):
            if name and is_float(name) and (node.op_type, k) not in FP32_SLOTS:
                if name in side or name in graph_inputs:
                    node.input[k] = half(name)
        if node.op_type == "Cast":
            for a in node.attribute:
                if a.name == "to" and a.i == FLOAT:
                    a.i = HALF
        for k, name in enumerate(node.output):
            if name in out_names:
                node.output[k] = name + "__fp16out"
                body.append(node)
                node = None
                body.append(helper.make_node("Cast", [name + "__fp16out"], [name], to=FLOAT))
                break
        if node is not None:
            body.append(node)
    # Float initializers used only through their float16 twin are dropped.
    still_used = {i for n in body + new_nodes for i in n.input}
    kept = [i for i in g.initializer if i.name in still_used]
    del g.node[:]
    g.node.extend(new_nodes + body)
    del g.initializer[:]
    g.initializer.extend(kept + new_inits)
    # Constant nodes whose float32 value is no longer read go too.
    used = {i for n in g.node for i in n.input} | out_names
    live = [n for n in g.node if n.op_type != "Constant" or n.output[0] in used]
    del g.node[:]
    g.node.extend(_topological(live, {i.name for i in g.input} | {i.name for i in g.initializer}))
    del g.value_info[:]
    onnx.checker.check_model(model)
    return model


def _topological(nodes, available):
    """Nodes in an order where each input exists before use (the twins were appended first)."""
    have = set(available)
    pending = list(nodes)
    ordered = []
    while pending:
        rest = []
        for n in pending:
            if all((not i) or i in have for i in n.input):
                ordered.append(n)
                have.update(n.output)
            else:
                rest.append(n)
        if len(rest) == len(pending):
            raise ValueError("fp16: graph has a cycle or a missing input: " + ", ".join(n.name or n.op_type for n in rest[:5]))
        pending = rest
    return ordered


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: fp16.py IN.onnx OUT.onnx")
    onnx.save(convert(onnx.load(sys.argv[1])), sys.argv[2])


if __name__ == "__main__":
    main()
