namespace NewLlm.Data;

/// <summary>Rows held in memory: every row's ids one after the other, with the offset where each starts.</summary>
internal sealed class PackedTokenRows : TokenRows
{
    private readonly int[] _ids;
    private readonly long[] _offsets;
    private readonly long[] _byteCounts;

    /// <summary>Wraps arrays: <paramref name="offsets"/> has one more entry than there are rows.</summary>
    public PackedTokenRows(int[] ids, long[] offsets, long[] byteCounts)
    {
        if (offsets.Length != byteCounts.Length + 1 || offsets[^1] != ids.Length)
        {
            throw new ArgumentException("The offsets do not match the ids and rows.", nameof(offsets));
        }

        _ids = ids;
        _offsets = offsets;
        _byteCounts = byteCounts;
    }

    /// <inheritdoc />
    public override int Count => _byteCounts.Length;

    /// <inheritdoc />
    public override ReadOnlySpan<int> GetTokens(int index) =>
        _ids.AsSpan(checked((int)_offsets[index]), checked((int)(_offsets[index + 1] - _offsets[index])));

    /// <inheritdoc />
    public override long GetByteCount(int index) => _byteCounts[index];

    /// <summary>Packs rows given one by one.</summary>
    public static PackedTokenRows From(IReadOnlyList<int[]> rows, IReadOnlyList<long> byteCounts)
    {
        var offsets = new long[rows.Count + 1];
        for (int i = 0; i < rows.Count; i++)
        {
            offsets[i + 1] = offsets[i] + rows[i].Length;
        }

        var ids = new int[checked((int)offsets[^1])];
        for (int i = 0; i < rows.Count; i++)
        {
            rows[i].CopyTo(ids, offsets[i]);
        }

        return new PackedTokenRows(ids, offsets, [.. byteCounts]);
    }
}
