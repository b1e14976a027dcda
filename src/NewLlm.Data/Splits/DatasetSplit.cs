namespace NewLlm.Data;

/// <summary>
/// The row split of Hugging Face <c>datasets</c>' <c>Dataset.train_test_split(test_size=..., seed=...)</c>
/// (float test size, shuffled, no stratification), reproduced exactly so that a NewLlm run validates on the same rows
/// as the original: <c>numpy.random.default_rng(seed).permutation(count)</c> (PCG64 seeded through NumPy's
/// <c>SeedSequence</c>, NumPy's Fisher–Yates shuffle), whose first <c>ceil(testSize * count)</c> entries are the test
/// rows and the rest the train rows, both in permutation order.
/// </summary>
/// <remarks>
/// Checked against NumPy 1.24.2 (the stream has not changed since NumPy 1.17). NumPy takes any non-negative integer as
/// a seed; seeds from 2^64 up are not covered here.
/// </remarks>
public static class DatasetSplit
{
    /// <summary>The test fraction used when none is given.</summary>
    public const double DefaultTestSize = 0.1;

    /// <summary>The seed used when none is given.</summary>
    public const ulong DefaultSeed = 42;

    /// <summary><c>numpy.random.default_rng(seed).permutation(count)</c>.</summary>
    /// <param name="count">How many indices (0 gives an empty array).</param>
    /// <param name="seed">The seed, as NumPy's non-negative integer seed.</param>
    /// <returns>The indices 0 .. <paramref name="count"/> − 1 in NumPy's order.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="count"/> is negative.</exception>
    public static int[] Permutation(int count, ulong seed)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        int[] indices = [.. Enumerable.Range(0, count)];
        new NumPyPcg64(seed).Shuffle(indices.AsSpan());
        return indices;
    }

    /// <summary>
    /// The row indices of <c>Dataset.train_test_split(test_size=testSize, seed=seed)</c> on a data set of
    /// <paramref name="count"/> rows.
    /// </summary>
    /// <param name="count">The number of rows; 0 gives two empty splits, as in <c>datasets</c>.</param>
    /// <param name="testSize">The test fraction, strictly between 0 and 1; the test split has <c>ceil(testSize * count)</c> rows.</param>
    /// <param name="seed">The seed of <c>numpy.random.default_rng</c>.</param>
    /// <returns>The train rows and the test rows, in the order <c>datasets</c> selects them.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="count"/> is negative, or <paramref name="testSize"/> is not strictly between 0 and 1 (checked even for no rows, where <c>datasets</c> does not look at it).</exception>
    /// <exception cref="ArgumentException">The split would leave no train rows (as <c>datasets</c> refuses it).</exception>
    public static (int[] Train, int[] Test) TrainTestSplit(int count, double testSize = DefaultTestSize, ulong seed = DefaultSeed)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        if (!(testSize > 0 && testSize < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(testSize), testSize, $"The test size must be a fraction strictly between 0 and 1, but is {testSize}.");
        }

        if (count == 0)
        {
            return ([], []);
        }

        int testCount = (int)Math.Ceiling(testSize * count);
        if (testCount == count)
        {
            throw new ArgumentException(
                $"With {count} rows and a test size of {testSize} the test split takes {testCount} rows and the train split would be empty; use more rows or a smaller test size.",
                nameof(testSize));
        }

        int[] permutation = Permutation(count, seed);
        return (permutation[testCount..], permutation[..testCount]);
    }
}
