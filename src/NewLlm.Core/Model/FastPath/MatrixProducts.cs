namespace NewLlm;

/// <summary>
/// The matrix products of the training path in the parameters' dtype or, for mixed precision
/// (<see cref="NewLlmModel.ComputeDType"/>), with both operands cast to a lower dtype and the product added to a buffer
/// of the parameters' dtype. libtorch's bfloat16 product accumulates in float32 and rounds to bfloat16: the rounding of
/// PyTorch's autocast, but with every sum over positions (the weight gradients) kept in float32.
/// </summary>
internal sealed class MatrixProducts(ScalarType? computeDType)
{
    /// <summary>The dtype the products run in, or null for the operands' own.</summary>
    public ScalarType? ComputeDType { get; } = computeDType;

    /// <summary>Products in <paramref name="computeDType"/>, or in the operands' own dtype (<c>addmm_</c>, no casts) when it is null or the parameters' own.</summary>
    public static MatrixProducts For(ScalarType? computeDType, ScalarType parameterDType) =>
        new(computeDType == parameterDType ? null : computeDType);

    /// <summary>
    /// <paramref name="x"/> itself, or a copy in <see cref="ComputeDType"/> (into <paramref name="scratch"/> when given,
    /// for a large operand cast again and again). Cast an operand used by several products once with this.
    /// </summary>
    public Tensor Operand(Tensor x, Tensor? scratch = null)
    {
        if (ComputeDType is not { } dtype || x.dtype == dtype)
        {
            return x;
        }

        return scratch is null ? x.to_type(dtype) : scratch.copy_(x);
    }

    /// <summary>
    /// <paramref name="target"/> = (<paramref name="accumulate"/> ? target : 0) + <paramref name="a"/> <paramref name="b"/>,
    /// in place; <paramref name="scratch"/>, when given, holds a large product in <see cref="ComputeDType"/> that a fresh
    /// result would map anew each time.
    /// </summary>
    public void AddTo(Tensor target, Tensor a, Tensor b, bool accumulate, Tensor? scratch = null)
    {
        if (ComputeDType is null)
        {
            target.addmm_(a, b, beta: accumulate ? 1 : 0);
            return;
        }

        using var scope = NewDisposeScope();
        Tensor product;
        if (scratch is null)
        {
            product = Operand(a).mm(Operand(b));
        }
        else
        {
            scratch.addmm_(Operand(a), Operand(b), beta: 0);   // beta 0: what the scratch held (even NaN) is ignored
            product = scratch;
        }

        if (!accumulate)
        {
            target.copy_(product);   // the cast, in place
            return;
        }

        // An add of a lower-dtype tensor converts all of it into a fresh temporary first (mapped anew, and out of
        // cache, for a [V, H] weight gradient); a block of rows at a time keeps that temporary small and in cache.
        long rows = target.shape[0], perBlock = Math.Max(1, AddBlockElements / Math.Max(1, target.numel() / Math.Max(1, rows)));
        for (long first = 0; first < rows; first += perBlock)
        {
            long count = Math.Min(perBlock, rows - first);
            using Tensor to = target.narrow(0, first, count), from = product.narrow(0, first, count);
            to.add_(from);
        }
    }

    // Elements per block of a mixed-dtype add (256 Ki: 1 MiB of float32, within L2).
    private const long AddBlockElements = 256 * 1024;
}
