using static TorchSharp.torch;

namespace NewLlm;

/// <summary>
/// The matrix products of the training path (the recurrence's loops and the chunked loss), in the parameters' dtype
/// or, for mixed precision (<see cref="NewLlmModel.ComputeDType"/>), with both operands cast to a lower dtype and the
/// product added to a buffer of the parameters' dtype. Everything else (the states, sigmoid, LayerNorm, clamp,
/// softmax, the gradient sums) stays in the parameters' dtype.
/// </summary>
/// <remarks>
/// libtorch's bfloat16 matrix product (oneDNN on the CPU) accumulates in float32 and rounds its result to bfloat16,
/// which is then added into the float32 buffer: the rounding of PyTorch's autocast, but with every sum over positions
/// (the weight gradients) kept in float32 instead of in the weights' bfloat16 copy.
/// </remarks>
internal sealed class MatrixProducts
{
    /// <summary>Products in the operands' own dtype (<c>addmm_</c>, no casts).</summary>
    public static readonly MatrixProducts Native = new(null);

    private MatrixProducts(ScalarType? computeDType)
    {
        ComputeDType = computeDType;
    }

    /// <summary>The dtype the products run in, or null for the operands' own.</summary>
    public ScalarType? ComputeDType { get; }

    /// <summary>Products in <paramref name="computeDType"/>, or <see cref="Native"/> when it is null or the parameters' own.</summary>
    public static MatrixProducts For(ScalarType? computeDType, ScalarType parameterDType) =>
        computeDType is null || computeDType == parameterDType ? Native : new MatrixProducts(computeDType);

    /// <summary>
    /// <paramref name="x"/> as a product operand: itself, or a copy in <see cref="ComputeDType"/>. Cast an operand used
    /// by several products (a weight, a position's gradient) once with this and pass the result.
    /// </summary>
    public Tensor Operand(Tensor x) => ComputeDType is { } dtype && x.dtype != dtype ? x.to_type(dtype) : x;

    /// <summary><paramref name="target"/> = (<paramref name="accumulate"/> ? target : 0) + <paramref name="a"/> <paramref name="b"/>, in place.</summary>
    public void AddTo(Tensor target, Tensor a, Tensor b, bool accumulate)
    {
        if (ComputeDType is null)
        {
            target.addmm_(a, b, beta: accumulate ? 1 : 0);
            return;
        }

        using var scope = NewDisposeScope();
        if (accumulate)
        {
            target.add_(Operand(a).mm(Operand(b)));
        }
        else
        {
            target.copy_(Operand(a).mm(Operand(b)));
        }
    }
}
