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
    /// when given (kept by the caller, so that no product is mapped afresh each time; <see cref="ScratchElements"/>
    /// elements), and, when it is added and large, a block of rows at a time.
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
        // keeps that temporary small and in cache. A large product (a [V, H] weight gradient at V = 50,257) is also
        // formed a block of rows at a time, so that neither it nor its scratch is [V, H]; a smaller one whole, which
        // measured faster (benchmarks/NewLlm.Benchmarks/README.md, "Where the bf16 step's time goes").
        long rows = target.shape[0], columns = target.shape[1], perBlock = BlockRows(columns);
        bool whole = rows * columns <= WholeProductElements;
        using Tensor? product = whole ? (scratch is null ? low.mm(right) : Rows(scratch, rows, columns).addmm_(low, right, beta: 0)) : null;
        for (long first = 0; first < rows; first += perBlock)
        {
            long count = Math.Min(perBlock, rows - first);
            using Tensor to = target.narrow(0, first, count);
            if (product is not null)
            {
                using Tensor part = product.narrow(0, first, count);
                to.add_(part, HeldScalars.One);
                continue;
            }

            using Tensor from = low.narrow(0, first, count);
            using Tensor formed = scratch is null ? from.mm(right) : Rows(scratch, count, columns).addmm_(from, right, beta: 0);
            to.add_(formed, HeldScalars.One);
        }
    }

    /// <summary>The elements a scratch of an accumulating product with <paramref name="columns"/> columns and <paramref name="rows"/> rows needs.</summary>
    public static long ScratchElements(long rows, long columns) => rows * columns <= WholeProductElements ? rows * columns : Math.Min(rows, BlockRows(columns)) * columns;

    // Rows of an accumulating product formed at a time: about AddBlockElements elements.
    private static long BlockRows(long columns) => Math.Max(1, AddBlockElements / Math.Max(1, columns));

    private static Tensor Rows(Tensor scratch, long rows, long columns) => scratch.view(-1).narrow(0, 0, rows * columns).view(rows, columns);

    // The largest accumulating product formed whole (16 MiB of float32).
    private const long WholeProductElements = 4L << 20;

    // Elements per block of a mixed-dtype add (256 Ki: 1 MiB of float32, within L2).
    private const long AddBlockElements = 256 * 1024;
}
