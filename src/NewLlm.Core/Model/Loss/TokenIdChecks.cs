namespace NewLlm;

/// <summary>The checks of token ids and next-token targets that every model's forward and loss make before computing.</summary>
internal static class TokenIdChecks
{
    /// <summary>Int64 ids of shape [batch, time], neither empty, every one in [0, <paramref name="vocabSize"/>).</summary>
    public static void Ids(Tensor ids, int vocabSize)
    {
        Int64(ids, nameof(ids), "Token ids");
        if (ids.dim() != 2)
        {
            throw new ArgumentException($"Token ids must have shape [batch, time], but have shape [{string.Join(", ", ids.shape)}].", nameof(ids));
        }

        if (ids.shape[0] == 0 || ids.shape[1] == 0)
        {
            throw new ArgumentException($"The batch is empty: token ids have shape [{string.Join(", ", ids.shape)}].", nameof(ids));
        }

        InVocabulary(ids, vocabSize, nameof(ids), "Token id", string.Empty);
    }

    /// <summary>
    /// A [batch, time] tensor of ids, time >= 2, checked (an id outside the vocabulary is named as one, wherever it is:
    /// the last column is only a target) and split into next-token inputs <c>ids[:, :-1]</c> and targets <c>ids[:, 1:]</c>
    /// (views; the caller disposes them).
    /// </summary>
    public static (Tensor Inputs, Tensor Targets) NextTokenPairs(Tensor ids, int vocabSize)
    {
        ArgumentNullException.ThrowIfNull(ids);
        if (ids.dim() != 2 || ids.shape[1] < 2)
        {
            throw new ArgumentException($"NextTokenLoss takes token ids of shape [batch, time] with time >= 2 (inputs ids[:, :-1], targets ids[:, 1:]), but got shape [{string.Join(", ", ids.shape)}].", nameof(ids));
        }

        Ids(ids, vocabSize);
        long time = ids.shape[1];
        return (ids.narrow(1, 0, time - 1), ids.narrow(1, 1, time - 1));
    }

    /// <summary>Int64 targets of the inputs' shape, each in the vocabulary or <paramref name="ignoreIndex"/>.</summary>
    public static void Targets(Tensor targets, Tensor inputs, long ignoreIndex, int vocabSize)
    {
        Int64(targets, nameof(targets), "Targets");
        if (!targets.shape.SequenceEqual(inputs.shape))
        {
            throw new ArgumentException($"Targets have shape [{string.Join(", ", targets.shape)}], but the inputs have shape [{string.Join(", ", inputs.shape)}].", nameof(targets));
        }

        using Scalar ignored = ignoreIndex.ToScalar();
        using Tensor counted = targets.masked_select(targets.ne(ignored));
        if (counted.numel() > 0)
        {
            InVocabulary(counted, vocabSize, nameof(targets), "Target", $" and is not the ignored id {ignoreIndex}");
        }
    }

    private static void Int64(Tensor values, string paramName, string what)
    {
        ArgumentNullException.ThrowIfNull(values, paramName);
        if (values.dtype != ScalarType.Int64)
        {
            throw new ArgumentException($"{what} must be int64, but are {values.dtype}.", paramName);
        }
    }

    // Names the smallest or largest of values (at least one) outside [0, vocabSize).
    private static void InVocabulary(Tensor values, int vocabSize, string paramName, string what, string besides)
    {
        using Tensor minimum = values.min(), maximum = values.max();
        long min = minimum.item<long>(), max = maximum.item<long>();
        if (min < 0 || max >= vocabSize)
        {
            long bad = min < 0 ? min : max;
            throw new ArgumentOutOfRangeException(paramName, bad, $"{what} {bad} is outside the vocabulary [0, {vocabSize}){besides}.");
        }
    }
}
