"""A masked sum in fixed vector lanes: vectorised, and the same bits wherever it runs.

The IDA kernel's variable-fixing passes sum the entries of a row above a threshold. A
vectorised floating-point sum needs a summation order other than the loop's; left to the
compiler (``fastmath``), that order depends on how each caller was compiled (inlined or
not, which vector width), so one row's fit could differ in its last bit between a kernel
compiled in this process and one loaded from Numba's cache, or between the serial and the
threaded kernel. Numba does not vectorise hand-written lane accumulators either (they stay
scalar). So the order is written here, in LLVM vector instructions: sixteen running sums,
four vectors of four float64 lanes, entry ``i`` of each block of sixteen into lane
``i % 16``, then a fixed tree over the lanes and the tail in index order. Instructions
without fast-math flags keep their order through any optimisation, on any vector width.
"""

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

_WIDTH = 4  # float64 lanes per vector (one AVX register; narrower targets split it)
_VECTORS = 4  # independent accumulators, so additions overlap
_BLOCK = _WIDTH * _VECTORS


@intrinsic
def sum_above(typingctx, values, t):
    """``(sum of values[i] > t, how many)`` over a C-contiguous 1-D float32 or float64
    array, each entry read as float64 and the sum taken in the fixed order of the module."""
    if not (isinstance(values, types.Array) and values.ndim == 1 and values.layout == "C"
            and isinstance(values.dtype, types.Float)):
        return None
    signature = types.Tuple((types.float64, types.int64))(values, types.float64)

    def codegen(context, builder, sig, args):
        array = context.make_array(sig.args[0])(context, builder, args[0])
        t_value = args[1]
        n = builder.extract_value(array.shape, 0)
        element = context.get_value_type(sig.args[0].dtype)
        double, int64 = ir.DoubleType(), ir.IntType(64)
        vector_in = ir.VectorType(element, _WIDTH)
        vector = ir.VectorType(double, _WIDTH)
        counts_vector = ir.VectorType(int64, _WIDTH)
        zeros = ir.Constant(vector, [0.0] * _WIDTH)
        t_vector = ir.Constant(vector, ir.Undefined)
        for lane in range(_WIDTH):
            t_vector = builder.insert_element(t_vector, t_value,
                                              ir.Constant(ir.IntType(32), lane))
        sums = [cgutils.alloca_once_value(builder, zeros) for _ in range(_VECTORS)]
        counts = [cgutils.alloca_once_value(builder, ir.Constant(counts_vector,
                                                                 [0] * _WIDTH))
                  for _ in range(_VECTORS)]
        blocks = builder.udiv(n, ir.Constant(int64, _BLOCK))
        with cgutils.for_range(builder, blocks) as loop:
            base = builder.mul(loop.index, ir.Constant(int64, _BLOCK))
            for k in range(_VECTORS):
                start = builder.add(base, ir.Constant(int64, k * _WIDTH))
                pointer = builder.bitcast(builder.gep(array.data, [start]),
                                          vector_in.as_pointer())
                loaded = builder.load(pointer, align=element.get_abi_alignment(
                    context.target_data))
                wide = loaded if element == double else builder.fpext(loaded, vector)
                above = builder.fcmp_ordered(">", wide, t_vector)
                builder.store(builder.fadd(builder.load(sums[k]),
                                           builder.select(above, wide, zeros)), sums[k])
                builder.store(builder.add(builder.load(counts[k]),
                                          builder.zext(above, counts_vector)), counts[k])
        # The lanes in a fixed tree: vectors pairwise, then lanes pairwise.
        total = [builder.load(s) for s in sums]
        count = [builder.load(c) for c in counts]
        while len(total) > 1:
            total = [builder.fadd(total[i], total[i + 1]) for i in range(0, len(total), 2)]
            count = [builder.add(count[i], count[i + 1]) for i in range(0, len(count), 2)]
        lanes = [builder.extract_element(total[0], ir.Constant(ir.IntType(32), i))
                 for i in range(_WIDTH)]
        lane_counts = [builder.extract_element(count[0], ir.Constant(ir.IntType(32), i))
                       for i in range(_WIDTH)]
        while len(lanes) > 1:
            lanes = [builder.fadd(lanes[i], lanes[i + 1]) for i in range(0, len(lanes), 2)]
            lane_counts = [builder.add(lane_counts[i], lane_counts[i + 1])
                           for i in range(0, len(lane_counts), 2)]
        s = cgutils.alloca_once_value(builder, lanes[0])
        c = cgutils.alloca_once_value(builder, lane_counts[0])
        # The tail, in index order.
        tail_start = builder.mul(blocks, ir.Constant(int64, _BLOCK))
        with cgutils.for_range_slice(builder, tail_start, n, ir.Constant(int64, 1)) as (index,
                                                                                     _):
            value = builder.load(builder.gep(array.data, [index]))
            wide = value if element == double else builder.fpext(value, double)
            above = builder.fcmp_ordered(">", wide, t_value)
            builder.store(builder.fadd(builder.load(s),
                                       builder.select(above, wide, ir.Constant(double, 0.0))),
                          s)
            builder.store(builder.add(builder.load(c), builder.zext(above, int64)), c)
        return context.make_tuple(builder, sig.return_type, [builder.load(s), builder.load(c)])

    return signature, codegen
