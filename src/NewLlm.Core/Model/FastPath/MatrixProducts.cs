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
    /// in place. In mixed precision the product is formed in <see cref="ComputeDType"/>: in <paramref name="scratch"/>
    /// when given (kept by the caller, so that no product is mapped afresh each time), and, when it is added, a block
    /// of <see cref="BlockRows"/> rows at a time, so the scratch needs only <see cref="ScratchElements"/> elements.
    /// </summary>
    public void AddTo(Tensor target, Tensor a, Tensor b, bool accumulate, Tensor? scratch = null)
    {
        if (ComputeDType is null)
        {
            target.addmm_(a, b, beta: accumulate ? 1 : 0);
            return;
        }

        using var scope = NewDisposeScope();
        Tensor low = Operand(a), right = Operand(b);
        if (!accumulate)
        {
            // The cast, in place (beta 0: what the scratch held, even NaN, is ignored).
            target.copy_(scratch is null ? low.mm(right) : Rows(scratch, low.shape[0], right.shape[1]).addmm_(low, right, beta: 0));
            return;
        }

        // An add of a lower-dtype tensor converts all of it into a fresh temporary first; a block of rows at a time
        // keeps that temporary, and the block's product, small and in cache (a [V, H] weight gradient at V = 50,257
        // would otherwise take a [V, H] product and a [V, H] temporary).
        long rows = target.shape[0], columns = target.shape[1], perBlock = BlockRows(columns);
        for (long first = 0; first < rows; first += perBlock)
        {
            long count = Math.Min(perBlock, rows - first);
            using Tensor to = target.narrow(0, first, count), from = low.narrow(0, first, count);
            using Tensor product = scratch is null ? from.mm(right) : Rows(scratch, count, columns).addmm_(from, right, beta: 0);
            to.add_(product);
        }
    }

    /// <summary>The elements a scratch of an accumulating product with <paramref name="columns"/> columns and <paramref name="rows"/> rows needs.</summary>
    public static long ScratchElements(long rows, long columns) => Math.Min(rows, BlockRows(columns)) * columns;

    // Rows of an accumulating product formed at a time: about AddBlockElements elements.
    private static long BlockRows(long columns) => Math.Max(1, AddBlockElements / Math.Max(1, columns));

    private static Tensor Rows(Tensor scratch, long rows, long columns) => scratch.view(-1).narrow(0, 0, rows * columns).view(rows, columns);

    // Elements per block of a mixed-dtype add (256 Ki: 1 MiB of float32, within L2).
    private const long AddBlockElements = 256 * 1024;
}
