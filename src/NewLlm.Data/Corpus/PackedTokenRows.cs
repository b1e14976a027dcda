namespace NewLlm.Data;

/// <summary>Rows held in memory: every row's ids one after the other, with the offset where each starts.</summary>
/// <remarks><paramref name="offsets"/> has one more entry than there are rows.</remarks>
internal sealed class PackedTokenRows(int[] ids, long[] offsets, long[] byteCounts) : TokenRows
{
    public override int Count => byteCounts.Length;

    public override ReadOnlySpan<int> GetTokens(int index) =>
        ids.AsSpan(checked((int)offsets[index]), checked((int)(offsets[index + 1] - offsets[index])));

    public override long GetByteCount(int index) => byteCounts[index];

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
